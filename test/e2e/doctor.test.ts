// `bng doctor` in the seed's network: a correct lab passes, and each broken target setup (the VIP
// missing on lo, arp_ignore=0 with the VIP on eth0, the web server bound to the target's own
// address only) fails with the matching fix; the gateway's ping; and all of it again beside a
// running bng, whose configuration the doctor reads from its control socket.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { CheckResult, DoctorReport } from "../../src/doctor/findings.ts";
import { describeWith, ROOT } from "../fixtures/requirements.ts";
import { bngCommand, BngInLab, Scratch, SEED_CONFIG_PATH } from "./bng.ts";
import { createLab, ROUTER_ADDRESS, ROUTER_MAC, targetAddress, targetMac, VIP, type Lab } from "./lab.ts";

let lab: Lab;
let scratch: Scratch;

async function doctor(args: string[]): Promise<{ exitCode: number; report: DoctorReport; stderr: string }> {
  // No bng answers on the default socket path of the machine running the tests.
  const socket = args.includes("--socket") ? [] : ["--socket", `${scratch.dir}/none.sock`];
  const result = await lab.bngExec([...bngCommand(), "doctor", ...args, ...socket, "--json"], { allowFailure: true, timeoutMs: 20_000 });
  if (result.stdout === "") throw new Error(`bng doctor printed nothing (exit ${result.exitCode}): ${result.stderr}`);
  return { exitCode: result.exitCode, report: JSON.parse(result.stdout) as DoctorReport, stderr: result.stderr };
}

/** Every failed check, as "target N check" (or "server N check", "gateway check") with its check. */
function failures(report: DoctorReport): { where: string; check: CheckResult }[] {
  return [
    ...report.servers.flatMap((server) => [
      ...server.checks.map((check) => ({ where: `server ${server.id}`, check })),
      ...server.targets.flatMap((target) => target.checks.map((check) => ({ where: `target ${target.id}`, check }))),
    ]),
    ...(report.gateway?.checks ?? []).map((check) => ({ where: "gateway", check })),
  ].filter(({ check }) => check.status === "fail");
}

/** The one failure of a report: where, which check, its text and fix. */
function onlyFailure(report: DoctorReport): { where: string; check: CheckResult } {
  const found = failures(report);
  expect(found.map(({ where, check }) => `${where} ${check.check}`)).toHaveLength(1);
  return found[0]!;
}

describeWith([ROOT], "bng doctor in the lab", () => {
  beforeAll(async () => {
    scratch = new Scratch();
    lab = await createLab({ prefix: "bngdr", clients: 2 });
  }, 30_000);
  afterAll(async () => {
    await lab?.destroy();
    scratch?.remove();
  }, 30_000);

  test(
    "a correct lab before bng runs: every check passes, exit 0, and the box is left as it was",
    async () => {
      const { exitCode, report } = await doctor([SEED_CONFIG_PATH]);
      expect(failures(report)).toEqual([]);
      expect(exitCode).toBe(0);
      expect(report).toMatchObject({ ok: true, failed: 0, checks: 6, bng_pid: null, interface: "eth0", reals: [{ address: "172.16.1.252", answered_by_doctor: true }] });
      expect(report.servers[0]!.targets.map((target) => [target.id, target.mac, target.checks.map((check) => `${check.check} ${check.status}`)])).toEqual(
        [1, 2].map((n) => [n, targetMac(n), ["mac pass", "vip_arp pass", "dsr_path pass"]]),
      );
      // Nothing added to the box: bng run adds the real address itself.
      expect((await lab.bngExec(["ip", "-4", "-o", "addr", "show", "dev", "eth0"])).stdout).toBe("");
      // The SYN-ACKs were answered with RSTs: no half-open connection stays on the targets.
      for (const n of [1, 2]) expect((await lab.exec(lab.targetNs(n), ["ss", "-Htn", "state", "syn-recv"])).stdout).toBe("");
    },
    30_000,
  );

  test(
    "the human report: a checklist with ✓ per check per target",
    async () => {
      const result = await lab.bngExec([...bngCommand(), "doctor", SEED_CONFIG_PATH, "--socket", `${scratch.dir}/none.sock`], { allowFailure: true, timeoutMs: 20_000 });
      expect(result.exitCode).toBe(0);
      const lines = result.stdout.trimEnd().split("\n");
      expect(lines).toContain(`  target 2  ${targetAddress(2)}:80`);
      expect(lines).toContain(`    ✓ MAC ${targetMac(2)} resolves by ARP from 172.16.1.252`);
      expect(lines).toContain(`    ✓ nobody but bng answers ARP for ${VIP}`);
      expect(lines.filter((line) => line.startsWith(`    ✓ a SYN to ${VIP}:80 in a frame to `))).toHaveLength(2);
      expect(lines.at(-1)).toBe("all 6 checks passed");
    },
    30_000,
  );

  test(
    "the VIP missing on target 1's lo: its DSR path fails, with the `ip addr add VIP/32 dev lo` fix",
    async () => {
      await lab.exec(lab.targetNs(1), ["ip", "addr", "del", `${VIP}/32`, "dev", "lo"]);
      try {
        const { exitCode, report } = await doctor([SEED_CONFIG_PATH]);
        expect(exitCode).toBe(1);
        const { where, check } = onlyFailure(report);
        expect(where).toBe("target 1");
        expect(check.check).toBe("dsr_path");
        expect(check.text).toBe(`a SYN to ${VIP}:80 in a frame to ${targetMac(1)} gets no answer, while ${targetAddress(1)}:80 answers: ${VIP} is not on target 1's loopback`);
        expect(check.fix).toStartWith(`on target 1: \`ip addr add ${VIP}/32 dev lo\``);
      } finally {
        await lab.exec(lab.targetNs(1), ["ip", "addr", "add", `${VIP}/32`, "dev", "lo"]);
      }
    },
    30_000,
  );

  test(
    "arp_ignore=0 with the VIP on target 2's eth0: target 2 answers ARP for the VIP, with the sysctl fix",
    async () => {
      await lab.setTargetVip(2, "owned");
      await lab.exec(lab.targetNs(2), ["sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=0", "net.ipv4.conf.all.arp_announce=0"]);
      try {
        const { exitCode, report } = await doctor([SEED_CONFIG_PATH]);
        expect(exitCode).toBe(1);
        const { where, check } = onlyFailure(report);
        expect(where).toBe("target 2");
        expect(check.check).toBe("vip_arp");
        expect(check.text).toStartWith(`target 2 (${targetMac(2)}) answers ARP for ${VIP}`);
        expect(check.fix).toStartWith("on target 2: `sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2`");
        expect(check.fix).toContain(`ip addr del ${VIP}/24 dev IFACE; ip addr add ${VIP}/32 dev lo`);
      } finally {
        await lab.exec(lab.targetNs(2), ["sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2"]);
        await lab.setTargetVip(2, "dsr");
      }
    },
    30_000,
  );

  test(
    "target 1's web server bound to its own address only: the VIP refuses, with the listen fix",
    async () => {
      await lab.stopTargetServer(1);
      await lab.startTargetServer(1, { address: targetAddress(1) });
      try {
        const { exitCode, report } = await doctor([SEED_CONFIG_PATH]);
        expect(exitCode).toBe(1);
        const { where, check } = onlyFailure(report);
        expect(where).toBe("target 1");
        expect(check.check).toBe("dsr_path");
        expect(check.text).toBe(
          `a SYN to ${VIP}:80 in a frame to ${targetMac(1)} is refused (RST): ${VIP} is on target 1, but nothing listens on ${VIP}:80; ${targetAddress(1)}:80 accepts: the service listens on target 1's own address only`,
        );
        expect(check.fix).toStartWith(`make the service on target 1 listen on ${VIP}:80 too, or on every address (0.0.0.0:80`);
      } finally {
        await lab.stopTargetServer(1);
        await lab.startTargetServer(1);
      }
    },
    30_000,
  );

  test(
    "the gateway answers ping; with echo ignored on the router it fails with the fix",
    async () => {
      const config = scratch.write("gateway.conf", (await Bun.file(SEED_CONFIG_PATH).text()).replace("register network 1", `gateway {\nipaddr ${ROUTER_ADDRESS}\n}\nregister network 1`));
      const passing = await doctor([config]);
      expect(passing.exitCode).toBe(0);
      expect(passing.report.gateway).toMatchObject({ ipaddr: ROUTER_ADDRESS, mac: ROUTER_MAC, checks: [{ check: "gateway_ping", status: "pass" }] });
      await lab.exec(lab.ns.router, ["sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=1"]);
      try {
        const { exitCode, report } = await doctor([config]);
        expect(exitCode).toBe(1);
        const { where, check } = onlyFailure(report);
        expect(where).toBe("gateway");
        expect(check.text).toBe(`gateway ${ROUTER_ADDRESS} (${ROUTER_MAC}) does not answer ping from 172.16.1.252`);
        expect(check.fix).toStartWith(`allow ICMP echo requests from 172.16.1.252 on ${ROUTER_ADDRESS}`);
      } finally {
        await lab.exec(lab.ns.router, ["sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=0"]);
      }
    },
    30_000,
  );

  describe("beside a running bng", () => {
    let bng: BngInLab;
    beforeAll(async () => {
      bng = await BngInLab.start(lab, scratch.writeConfig("bng.conf", await Bun.file(SEED_CONFIG_PATH).text()), `${scratch.dir}/bng.sock`);
      await bng.waitForTargets([1, 2], "up", 10_000);
    }, 30_000);
    afterAll(async () => {
      await bng?.stop();
    }, 30_000);

    test(
      "without a file: the running configuration; every check passes and bng keeps serving",
      async () => {
        const { exitCode, report } = await doctor(["--socket", bng.socket]);
        expect(failures(report)).toEqual([]);
        expect(exitCode).toBe(0);
        expect(report.config).toBe(`${scratch.dir}/bng.conf (as bng runs it)`);
        expect(report.bng_pid).toBeGreaterThan(0);
        // bng holds the real address now: the kernel answers ARP for it, not the doctor.
        expect(report.reals).toEqual([{ address: "172.16.1.252", answered_by_doctor: false }]);
        const served = await lab.requests({ count: 20 });
        expect(served.filter((request) => !request.ok)).toEqual([]);
      },
      30_000,
    );

    test(
      "the VIP missing on target 2 while bng runs: bng's tcpopen keeps it up, the doctor fails it",
      async () => {
        await lab.exec(lab.targetNs(2), ["ip", "addr", "del", `${VIP}/32`, "dev", "lo"]);
        try {
          const { exitCode, report } = await doctor(["--socket", bng.socket]);
          expect(exitCode).toBe(1);
          const { where, check } = onlyFailure(report);
          expect([where, check.check]).toEqual(["target 2", "dsr_path"]);
          expect(check.fix).toStartWith(`on target 2: \`ip addr add ${VIP}/32 dev lo\``);
          expect((await bng.status()).targets.find((target) => target.id === 2)?.state).toBe("up");
        } finally {
          await lab.exec(lab.targetNs(2), ["ip", "addr", "add", `${VIP}/32`, "dev", "lo"]);
        }
      },
      30_000,
    );
  });

  test(
    "a configuration bng would not run, an interface that is not there or down: exit 1 and why",
    async () => {
      const bad = scratch.write("bad.conf", "server 1 {\n");
      const broken = await lab.bngExec([...bngCommand(), "doctor", bad], { allowFailure: true });
      expect(broken.exitCode).toBe(1);
      expect(broken.stderr).toContain(`bng doctor: ${bad} has errors`);
      const missing = scratch.write("missing.conf", (await Bun.file(SEED_CONFIG_PATH).text()).replaceAll("eth0", "eth9"));
      const absent = await lab.bngExec([...bngCommand(), "doctor", missing, "--socket", `${scratch.dir}/none.sock`], { allowFailure: true });
      expect(absent.exitCode).toBe(1);
      expect(absent.stderr).toContain("bng doctor: cannot open eth9: ");
      await lab.bngExec(["ip", "link", "set", "eth0", "down"]);
      try {
        const down = await lab.bngExec([...bngCommand(), "doctor", SEED_CONFIG_PATH, "--socket", `${scratch.dir}/none.sock`], { allowFailure: true });
        expect(down.exitCode).toBe(1);
        expect(down.stderr).toStartWith("bng doctor: cannot send on eth0: ");
      } finally {
        await lab.bngExec(["ip", "link", "set", "eth0", "up"]);
      }
    },
    30_000,
  );
});

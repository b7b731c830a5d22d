// bng doctor's findings from made-up observations: which check fails, its words and its fix.
// The seed's configuration (two targets behind 172.16.1.10:80) with a third target as backup,
// a UDP server with a fourth target and a gateway.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { parseConfig } from "../../src/config/index.ts";
import { vipNetwork } from "../../src/config/model.ts";
import { planRun } from "../../src/control/plan.ts";
import { buildReport, type CheckResult, type DoctorReport } from "../../src/doctor/findings.ts";
import type { ArpSighting, SynOutcome } from "../../src/doctor/link.ts";
import { synKey, type Observations } from "../../src/doctor/observe.ts";
import { renderDoctorReport } from "../../src/doctor/render.ts";
import { doctorSubjects } from "../../src/doctor/subjects.ts";
import { ip, mac } from "../fixtures/frames.ts";

const REAL = "172.16.1.252";
const VIP = "172.16.1.10";
const OWN_MAC = "02:00:ac:10:01:fc";
const T1_MAC = "02:00:ac:10:01:64";
const T2_MAC = "02:00:ac:10:01:65";
const T3_MAC = "02:00:ac:10:01:66";
const T4_MAC = "02:00:ac:10:01:67";
const GATEWAY_MAC = "02:00:ac:10:01:fe";

const seed = readFileSync(new URL("../../config/dsr-example.conf", import.meta.url), "utf8");
const text = seed
  .replace("targets 1,2\n}", "targets 1,2\nbackup 3\n}")
  .replace(
    "register targets 1,2",
    "target 3 {\nipaddr 172.16.1.102\nport 80\nprotocol tcp\ndsr enable\n}\n" +
      "target 4 {\nipaddr 172.16.1.103\nport 53\nprotocol udp\ndsr enable\n}\n" +
      "server 2 {\nipaddr 172.16.1.11\nport 53\nprotocol udp\ntargets 4\n}\nregister server 2\nenable server 2\n" +
      "gateway {\nipaddr 172.16.1.254\n}\nregister targets 1,2,3,4",
  )
  .replace("enable targets 1,2", "enable targets 1,2,3,4");
const parsed = parseConfig(text, "test.conf");
if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
const config = parsed.config;
const planned = planRun(config);
if (!planned.ok) throw new Error(planned.errors.join("\n"));
const subjects = doctorSubjects(config, planned.plan);

function answer(address: string, macText: string): ArpSighting {
  return { sender: ip(address), target: ip(REAL), mac: macText, macBytes: mac(macText), reply: true };
}

/** A healthy lab: every address answers ARP once, every SYN gets a SYN-ACK, the gateway answers ping. */
function healthy(): Observations & { sightings: ArpSighting[] } {
  const synAck: SynOutcome = { kind: "syn-ack", ms: 0.5 };
  return {
    sightings: [answer("172.16.1.100", T1_MAC), answer("172.16.1.101", T2_MAC), answer("172.16.1.102", T3_MAC), answer("172.16.1.103", T4_MAC), answer("172.16.1.254", GATEWAY_MAC)],
    syns: new Map([1, 2, 3].map((id) => [synKey(1, id), { vip: synAck, own: synAck }])),
    gatewayPing: { kind: "reply", ms: 0.3 },
    sendFailure: undefined,
  };
}

function report(seen: Observations): DoctorReport {
  return buildReport(subjects, seen, {
    config: "test.conf",
    bngPid: undefined,
    ownMac: OWN_MAC,
    reals: [{ address: ip(REAL), answeredByDoctor: true }],
    networkOf: (address) => vipNetwork(config, address),
  });
}

function checksOf(result: DoctorReport, server: number, target: number): CheckResult[] {
  return result.servers.find((s) => s.id === server)!.targets.find((t) => t.id === target)!.checks;
}

function failures(result: DoctorReport): CheckResult[] {
  return [...result.servers.flatMap((s) => [...s.checks, ...s.targets.flatMap((t) => t.checks)]), ...(result.gateway?.checks ?? [])].filter((check) => check.status === "fail");
}

describe("a healthy lab", () => {
  const result = report(healthy());

  test("every check passes; the UDP server's DSR path is skipped, not failed", () => {
    expect(result.ok).toBe(true);
    expect(result.failed).toBe(0);
    // Server 1: three targets x three checks; server 2: mac and vip_arp of target 4; the gateway.
    expect(result.checks).toBe(9 + 2 + 1);
    expect(checksOf(result, 1, 1).map((check) => check.text)).toEqual([
      `MAC ${T1_MAC} resolves by ARP from ${REAL}`,
      `nobody but bng answers ARP for ${VIP}`,
      `a SYN to ${VIP}:80 in a frame to ${T1_MAC} is answered with a SYN-ACK from ${VIP} (0.5 ms)`,
    ]);
    expect(checksOf(result, 2, 4)[2]).toEqual({ check: "dsr_path", status: "skip", text: "not checked: server 2 is UDP, and the doctor proves the DSR path with a TCP SYN" });
    expect(result.servers[0]!.targets.map((target) => [target.id, target.backup, target.mac])).toEqual([
      [1, false, T1_MAC],
      [2, false, T2_MAC],
      [3, true, T3_MAC],
    ]);
  });

  test("the human report: a checklist per target and one summary line", () => {
    const lines = renderDoctorReport(result).split("\n");
    expect(lines[0]).toBe(`bng doctor: test.conf on eth0 (${OWN_MAC}); bng is not running`);
    expect(lines).toContain("  target 3  172.16.1.102:80 (backup)");
    expect(lines).toContain(`    ✓ MAC ${T2_MAC} resolves by ARP from ${REAL}`);
    expect(lines).toContain("    – not checked: server 2 is UDP, and the doctor proves the DSR path with a TCP SYN");
    expect(lines).toContain(`  ✓ gateway 172.16.1.254 (${GATEWAY_MAC}) answers ping from ${REAL} (0.3 ms)`);
    expect(lines.at(-1)).toBe("all 12 checks passed");
  });
});

describe("a broken target: the failing check, its words and its fix", () => {
  test("no ARP answer: the MAC check fails, the SYN is not sent", () => {
    const seen = healthy();
    seen.sightings = seen.sightings.filter((sighting) => sighting.mac !== T2_MAC);
    seen.syns.delete(synKey(1, 2));
    const checks = checksOf(report(seen), 1, 2);
    expect(checks[0]).toMatchObject({ status: "fail", text: `172.16.1.101 does not answer ARP from ${REAL}: bng cannot forward to target 2 without its MAC` });
    expect(checks[0]!.fix).toContain("holds 172.16.1.101 on the interface it has on this segment (172.16.1.0/24)");
    expect(checks[2]).toMatchObject({ status: "skip" });
    expect(failures(report(seen))).toHaveLength(1);
  });

  test("two hosts answer for one address: a conflict", () => {
    const seen = healthy();
    seen.sightings.push(answer("172.16.1.101", "02:00:00:00:00:99"));
    const [macCheck] = checksOf(report(seen), 1, 2);
    expect(macCheck).toMatchObject({ status: "fail", text: `2 hosts answer ARP for 172.16.1.101: ${T2_MAC}, 02:00:00:00:00:99` });
    expect(macCheck!.fix).toStartWith("an address conflict: give 172.16.1.101 to one host only");
  });

  test("a target answers ARP for the VIP: arp_ignore and arp_announce, and where the VIP goes", () => {
    const seen = healthy();
    seen.sightings.push(answer(VIP, T2_MAC));
    const result = report(seen);
    expect(failures(result)).toEqual([
      {
        check: "vip_arp",
        status: "fail",
        text: `target 2 (${T2_MAC}) answers ARP for ${VIP}: routers and clients may send ${VIP}'s traffic straight to it, past bng`,
        fix:
          "on target 2: `sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2`, and the same two settings in a file in /etc/sysctl.d/ so that they survive a reboot; " +
          `if it still answers, ${VIP} is on its network interface rather than on lo: \`ip addr del ${VIP}/24 dev IFACE; ip addr add ${VIP}/32 dev lo\``,
      },
    ]);
    expect(checksOf(result, 1, 1)[1]!.text).toBe(`target 1 does not answer ARP for ${VIP} (the other hosts that do are listed under the server)`);
  });

  test("a target sends ARP requests from the VIP: arp_announce", () => {
    const seen = healthy();
    seen.sightings.push({ sender: ip(VIP), target: ip("172.16.1.254"), mac: T1_MAC, macBytes: mac(T1_MAC), reply: false });
    expect(failures(report(seen))).toEqual([
      expect.objectContaining({ text: `target 1 (${T1_MAC}) sends ARP requests from ${VIP}, telling the segment that ${VIP} is at its MAC` }),
    ]);
  });

  test("another host answers ARP for the VIP: a server-level failure naming it; the VRRP virtual MAC is bng", () => {
    const seen = healthy();
    seen.sightings.push(answer(VIP, "02:00:00:00:00:99"), answer(VIP, GATEWAY_MAC));
    const result = report(seen);
    expect(result.servers[0]!.checks.map((check) => check.text)).toEqual([
      `an unknown host (02:00:00:00:00:99) answers ARP for ${VIP}: clients' packets for ${VIP} can go to it instead of bng`,
      `the gateway (${GATEWAY_MAC}), not a target of server 1, answers ARP for ${VIP}`,
    ]);
    const vrrp = doctorSubjects({ ...config, vrrp: { vrid: 7, priority: 100, networkId: 1, intervalS: 1, preempt: true, sync: undefined, key: undefined, unimplemented: [], pos: config.servers[0]!.pos } }, planned.plan);
    expect(vrrp.bngMacs).toEqual(["00:00:5e:00:01:07"]);
    const withVrrp = healthy();
    withVrrp.sightings.push(answer(VIP, "00:00:5e:00:01:07"));
    expect(buildReport(vrrp, withVrrp, { config: "t", bngPid: 1, ownMac: OWN_MAC, reals: [], networkOf: () => undefined }).ok).toBe(true);
  });

  test("the SYN to the VIP: silent while the own address answers = the VIP is missing on lo", () => {
    const seen = healthy();
    seen.syns.set(synKey(1, 1), { vip: { kind: "silent" }, own: { kind: "syn-ack", ms: 1 } });
    const check = checksOf(report(seen), 1, 1)[2]!;
    expect(check.text).toBe(`a SYN to ${VIP}:80 in a frame to ${T1_MAC} gets no answer, while 172.16.1.100:80 answers: ${VIP} is not on target 1's loopback`);
    expect(check.fix).toStartWith(`on target 1: \`ip addr add ${VIP}/32 dev lo\``);
  });

  test("the SYN to the VIP: silent and the own address silent too = a firewall, or the VIP", () => {
    const seen = healthy();
    seen.syns.set(synKey(1, 1), { vip: { kind: "silent" }, own: { kind: "silent" } });
    const check = checksOf(report(seen), 1, 1)[2]!;
    expect(check.text).toContain("gets no answer, nor does 172.16.1.100:80: a firewall on target 1 drops the SYNs");
    expect(check.fix).toContain(`else \`ip addr add ${VIP}/32 dev lo\``);
  });

  test("the SYN to the VIP refused while the own address accepts: the service listens on the own address only", () => {
    const seen = healthy();
    seen.syns.set(synKey(1, 2), { vip: { kind: "rst" }, own: { kind: "syn-ack", ms: 1 } });
    const check = checksOf(report(seen), 1, 2)[2]!;
    expect(check.text).toBe(`a SYN to ${VIP}:80 in a frame to ${T2_MAC} is refused (RST): ${VIP} is on target 2, but nothing listens on ${VIP}:80; 172.16.1.101:80 accepts: the service listens on target 2's own address only`);
    expect(check.fix).toStartWith(`make the service on target 2 listen on ${VIP}:80 too, or on every address (0.0.0.0:80`);
  });

  test("both SYNs refused: nothing listens at all", () => {
    const seen = healthy();
    seen.syns.set(synKey(1, 2), { vip: { kind: "rst" }, own: { kind: "rst" } });
    expect(checksOf(report(seen), 1, 2)[2]).toMatchObject({ text: expect.stringContaining("nothing listens on port 80 on target 2"), fix: `start the service on target 2, listening on ${VIP}:80 or on every address (0.0.0.0:80)` });
  });

  test("the gateway: no ARP answer, or no echo reply", () => {
    const noArp = healthy();
    noArp.sightings = noArp.sightings.filter((sighting) => sighting.mac !== GATEWAY_MAC);
    expect(report(noArp).gateway).toMatchObject({ mac: null, checks: [{ status: "fail", text: `gateway 172.16.1.254 does not answer ARP from ${REAL}` }] });
    const noPing = healthy();
    noPing.gatewayPing = { kind: "silent" };
    const result = report(noPing);
    expect(result.gateway!.checks[0]).toMatchObject({ status: "fail", text: `gateway 172.16.1.254 (${GATEWAY_MAC}) does not answer ping from ${REAL}` });
    expect(renderDoctorReport(result).split("\n").at(-1)).toBe("1 of 12 checks failed: apply the fixes and run bng doctor again");
  });
});

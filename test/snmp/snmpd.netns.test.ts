// A real Net-SNMP agent (Debian's snmpd) in a network namespace of its own, listening on its
// loopback only, with `pass .1.3.6.1.4.1.2771 WRAPPER` where WRAPPER runs `bng` against a real
// Daemon's control socket (the in-memory box of DaemonHarness). snmpwalk must see both targets'
// addresses, states and counters as the daemon has them, and snmptranslate must load the MIB.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DaemonHarness } from "../control/harness.ts";
import { IS_ROOT } from "../fixtures/requirements.ts";
import { BUN, REPO, run } from "../fixtures/process.ts";

const SNMPD = Bun.which("snmpd");
const SNMPWALK = Bun.which("snmpwalk");
const MIB_DIR = join(REPO, "config");
const PORT = 16161;

/** A directory holding SNMPv2-SMI and SNMPv2-TC, which BNG-MIB imports (Debian ships them in erlang-snmp; snmp-mibs-downloader elsewhere). */
function smiDirectory(): string | undefined {
  const candidates = ["/usr/share/snmp/mibs/ietf", "/var/lib/mibs/ietf"];
  const erlang = "/usr/lib/erlang/lib";
  if (existsSync(erlang)) for (const name of readdirSync(erlang)) if (name.startsWith("snmp-")) candidates.push(join(erlang, name, "mibs"));
  return candidates.find((dir) => existsSync(join(dir, "SNMPv2-SMI.mib")) || existsSync(join(dir, "SNMPv2-SMI.txt")) || existsSync(join(dir, "SNMPv2-SMI")));
}

const harness = new DaemonHarness();
const namespace = `bngsnmp${Math.random().toString(36).slice(2, 8)}`;
let snmpd: ReturnType<typeof Bun.spawn> | undefined;

/** Runs argv in the namespace without blocking this thread: the daemon answering bng's requests lives in it. */
async function inNamespace(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = Bun.spawn(["ip", "netns", "exec", namespace, ...argv], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, stdout, stderr };
}

/** `snmpwalk -On` of the subtree as OID -> "Type: value". */
async function walk(extra: string[] = []): Promise<Map<string, string>> {
  const result = await inNamespace([SNMPWALK!, "-v2c", "-c", "bngtest", "-On", "-t", "20", "-r", "0", ...extra, `udp:127.0.0.1:${PORT}`, ".1.3.6.1.4.1.2771"]);
  if (result.code !== 0) throw new Error(`snmpwalk failed (${result.code}): ${result.stderr}`);
  const values = new Map<string, string>();
  for (const line of result.stdout.trim().split("\n")) {
    const match = /^(\S+) = (.*)$/.exec(line);
    if (!match) throw new Error(`unexpected snmpwalk line: ${line}`);
    values.set(match[1]!, match[2]!);
  }
  return values;
}

describe.skipIf(!IS_ROOT || SNMPD === null || SNMPWALK === null)("snmpd with `pass` to bng", () => {
  beforeAll(async () => {
    await harness.start();
    // Target 1 answers its checks, target 2 does not: one up, one down.
    harness.healthy.add("172.16.1.100");
    harness.answerArp([1, 2]);
    await harness.waitFor(async () => harness.daemon.healthMonitor.state(1) === "up" && harness.daemon.healthMonitor.state(2) === "down", "target 1 up and 2 down", 10_000);
    for (let client = 1; client <= 5; client++) expect(DaemonHarness.targetOf(harness.clientFrame(`198.51.100.${client}`))).toBe(1);

    const wrapper = join(harness.dir, "bng-snmp");
    writeFileSync(wrapper, `#!/bin/sh\nexec ${BUN} ${join(REPO, "src/cli/main.ts")} --socket ${harness.socket} "$@"\n`);
    chmodSync(wrapper, 0o755);
    const config = join(harness.dir, "snmpd.conf");
    writeFileSync(config, [`agentAddress udp:127.0.0.1:${PORT}`, "rocommunity bngtest 127.0.0.1", `pass .1.3.6.1.4.1.2771 ${wrapper}`, ""].join("\n"));
    run(["ip", "netns", "add", namespace]);
    run(["ip", "-n", namespace, "link", "set", "lo", "up"]);
    // -C: only this file; -f: foreground; its state files in the test's directory.
    snmpd = Bun.spawn(["ip", "netns", "exec", namespace, SNMPD!, "-f", "-C", "-c", config, "-Lf", join(harness.dir, "snmpd.log"), "-p", join(harness.dir, "snmpd.pid")], {
      env: { ...process.env, SNMP_PERSISTENT_DIR: join(harness.dir, "snmp-state"), MIBS: "" },
      stdout: "ignore",
      stderr: "pipe",
    });
    await harness.waitFor(async () => (await inNamespace([Bun.which("snmpget")!, "-v2c", "-c", "bngtest", "-t", "1", "-r", "0", `udp:127.0.0.1:${PORT}`, ".1.3.6.1.2.1.1.5.0"])).code === 0, "snmpd answering", 15_000);
  }, 40_000);

  afterAll(async () => {
    snmpd?.kill("SIGTERM");
    await snmpd?.exited;
    Bun.spawnSync(["ip", "netns", "del", namespace]);
    await harness.stop();
  });

  test("snmpwalk shows both targets' addresses, states and counters as bng counts them", async () => {
    const status = (await import("../../src/control/status-report.ts")).buildStatus(harness.daemon);
    const values = await walk();
    const base = ".1.3.6.1.4.1.2771.1";
    for (const target of status.targets) {
      expect(values.get(`${base}.70.2.${target.id}`)).toBe(`IpAddress: ${target.ipaddr}`);
      expect(values.get(`${base}.70.5.${target.id}`)).toBe(`INTEGER: ${{ up: 1, down: 2, disabled: 3 }[target.state]}`);
      expect(values.get(`${base}.70.27.${target.id}`)).toBe(`Counter64: ${target.packets}`);
      expect(values.get(`${base}.70.28.${target.id}`)).toBe(`Counter64: ${target.bytes}`);
    }
    expect(values.get(`${base}.70.2.1`)).toBe("IpAddress: 172.16.1.100");
    expect(values.get(`${base}.70.2.2`)).toBe("IpAddress: 172.16.1.101");
    expect(values.get(`${base}.70.5.1`)).toBe("INTEGER: 1");
    expect(values.get(`${base}.70.5.2`)).toBe("INTEGER: 2");
    expect(values.get(`${base}.70.27.1`)).toBe("Counter64: 5");
    expect(values.get(`${base}.70.27.2`)).toBe("Counter64: 0");
    expect(values.get(`${base}.60.2.1`)).toBe("IpAddress: 172.16.1.10");
    expect(values.get(`${base}.60.15.1`)).toBe("Counter64: 5");
    // 3 scalars, 11 columns of one server, 10 of two targets: and nothing else.
    expect(values.size).toBe(3 + 11 + 20);
  }, 120_000);

  const smi = smiDirectory();
  test.skipIf(smi === undefined)("snmptranslate loads BNG-MIB and names what snmpwalk shows", async () => {
    const mibPath = `+${smi}:${MIB_DIR}`;
    const translate = Bun.spawnSync(["snmptranslate", "-m", "+ALL", "-M", mibPath, "-On", "BNG-MIB::bngTargetPackets.2"], { stdout: "pipe", stderr: "pipe" });
    expect(translate.exitCode).toBe(0);
    expect(translate.stdout.toString().trim()).toBe(".1.3.6.1.4.1.2771.1.70.27.2");
    // Other MIBs in the path may miss their imports; BNG-MIB itself must load without a word.
    expect(translate.stderr.toString()).not.toContain("BNG-MIB");
    const named = await walk(["-m", "BNG-MIB", "-M", mibPath]);
    // -On keeps OIDs numeric but the MIB types the values: the states by name.
    expect(named.get(".1.3.6.1.4.1.2771.1.70.5.1")).toBe("INTEGER: up(1)");
    expect(named.get(".1.3.6.1.4.1.2771.1.70.5.2")).toBe("INTEGER: down(2)");
    expect(named.get(".1.3.6.1.4.1.2771.1.60.5.1")).toBe("INTEGER: tcp(6)");
  }, 120_000);
});

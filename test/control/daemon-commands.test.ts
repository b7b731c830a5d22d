// Every control command against a running daemon over its real socket, through the protocol
// and through the `bng` command line; the data plane is the in-memory one of the harness.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import * as v from "valibot";
import { sendControlRequest } from "../../src/control/socket-client.ts";
import { escapeLabelValue } from "../../src/control/metrics.ts";
import type { ControlReply } from "../../src/control/protocol.ts";
import { arpFrame, ip, TCP_ACK } from "../fixtures/frames.ts";
import { DaemonHarness, OWN_MAC, SEED_FAST, VIP } from "./daemon-harness.ts";
import { BUN, REPO } from "../fixtures/process.ts";
import { validateExposition } from "./harness.ts";


/** The spec's `bng status --json` names: a public interface. */
const StatusSchema = v.object({
  version: v.string(),
  pid: v.number(),
  uptime_s: v.number(),
  config: v.string(),
  servers: v.array(
    v.object({
      id: v.number(),
      ipaddr: v.pipe(v.string(), v.ipv4()),
      port: v.number(),
      protocol: v.picklist(["tcp", "udp"]),
      method: v.string(),
      sessions: v.number(),
      packets: v.number(),
      bytes: v.number(),
      targets: v.array(v.number()),
    }),
  ),
  targets: v.array(
    v.object({
      id: v.number(),
      ipaddr: v.pipe(v.string(), v.ipv4()),
      port: v.number(),
      state: v.picklist(["up", "down", "disabled"]),
      mac: v.nullable(v.pipe(v.string(), v.regex(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/))),
      sessions: v.number(),
      packets: v.number(),
      bytes: v.number(),
    }),
  ),
  drops: v.record(v.string(), v.number()),
});
type Status = v.InferOutput<typeof StatusSchema>;

const harness = new DaemonHarness();

async function ask(request: Parameters<typeof sendControlRequest>[1]): Promise<ControlReply> {
  return sendControlRequest(harness.socket, request);
}

async function status(): Promise<Status> {
  const reply = await ask({ cmd: "status" });
  if (!reply.ok) throw new Error(reply.error);
  return v.parse(StatusSchema, reply.result);
}

/** The `bng` command line as a separate process (async: the daemon answers from this one). */
async function cli(args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const child = Bun.spawn([BUN, join(REPO, "src/cli/main.ts"), ...args, "--socket", harness.socket], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { exitCode, stdout, stderr };
}

function client(i: number): string {
  return `198.18.${Math.floor(i / 250)}.${(i % 250) + 1}`;
}

beforeAll(async () => {
  harness.healthy.add("172.16.1.100").add("172.16.1.101");
  await harness.start();
  harness.answerArp([1, 2]);
  await harness.waitFor(async () => (await status()).targets.every((t) => t.state === "up" && t.mac !== null), "both targets up with MACs");
}, 15_000);

afterAll(async () => {
  await harness.stop();
});

describe("a running daemon over its control socket", () => {
  test("status --json holds the spec's names and agrees with the traffic", async () => {
    const forwarded = new Map<number, number>();
    for (let i = 0; i < 40; i++) {
      const target = DaemonHarness.targetOf(harness.clientFrame(client(i)));
      expect(target).toBeDefined();
      forwarded.set(target!, (forwarded.get(target!) ?? 0) + 1);
    }
    const report = await status();
    expect(report.servers[0]).toMatchObject({ id: 1, ipaddr: VIP, port: 80, protocol: "tcp", method: "rr", sessions: 40, packets: 40, targets: [1, 2] });
    for (const target of report.targets) {
      expect(target.packets).toBe(forwarded.get(target.id) ?? 0);
      expect(target.sessions).toBe(forwarded.get(target.id) ?? 0);
      expect(target.bytes).toBe(target.packets * 54);
    }
    const fromCli = await cli(["status", "--json"]);
    expect(fromCli.exitCode).toBe(0);
    v.parse(StatusSchema, JSON.parse(fromCli.stdout));
  });

  test("status for people: aligned tables with the servers, targets, sessions and drops", async () => {
    const human = await cli(["status"]);
    expect(human.exitCode).toBe(0);
    expect(human.stdout).toMatch(/^SERVER\s+NAME\s+VIRTUAL\s+PROTO\s+METHOD/m);
    expect(human.stdout).toMatch(/^1\s+-\s+172\.16\.1\.10:80\s+tcp\s+rr\s+enabled/m);
    expect(human.stdout).toMatch(/^TARGET\s+NAME\s+ADDRESS\s+STATE\s+MAC/m);
    expect(human.stdout).toMatch(/^1\s+-\s+172\.16\.1\.100:80\s+up\s+02:00:00:00:0b:01/m);
    expect(human.stdout).toContain("tcpopen 80 ok 0.3ms");
    expect(human.stdout).toMatch(/^sessions: 40 of \d+/m);
  });

  test("show servers, targets, networks and sessions with filters", async () => {
    const servers = await cli(["show", "servers", "--json"]);
    expect(JSON.parse(servers.stdout)).toHaveLength(1);
    const targets = await cli(["show", "targets"]);
    expect(targets.stdout.split("\n").filter((line) => /^\d/.test(line))).toHaveLength(2);
    const networks = JSON.parse((await cli(["show", "networks", "--json"])).stdout);
    expect(networks).toEqual([{ id: 1, name: "local network", addr: "172.16.1.0", mask: "255.255.255.0", real: "172.16.1.252", interface: "eth0" }]);
    const all = JSON.parse((await cli(["show", "sessions", "--json", "--limit", "1000"])).stdout);
    expect(all.total).toBe(40);
    const limited = JSON.parse((await cli(["show", "sessions", "--json", "--limit", "5"])).stdout);
    expect(limited.total).toBe(40);
    expect(limited.sessions).toHaveLength(5);
    const ofTarget2 = JSON.parse((await cli(["show", "sessions", "--json", "--target", "2", "--limit", "1000"])).stdout);
    expect(ofTarget2.sessions.every((s: { target: number }) => s.target === 2)).toBe(true);
    expect(ofTarget2.total).toBe((await status()).targets[1]!.sessions);
    const one = JSON.parse((await cli(["show", "sessions", "--json", "--client", client(3)])).stdout);
    expect(one.sessions).toEqual([{ server: 1, client: client(3), client_port: null, target: expect.any(Number), age_s: expect.any(Number), idle_s: expect.any(Number) }]);
    const human = await cli(["show", "sessions", "--server", "1", "--limit", "3"]);
    expect(human.stdout).toMatch(/^SERVER\s+CLIENT\s+TARGET\s+AGE\s+IDLE/m);
    expect(human.stdout).toContain("40 sessions (showing 3)");
    expect((await cli(["show", "bogus"])).exitCode).toBe(2);
  });

  test("disable target drains: its clients stay, new clients never get it; enable takes it back", async () => {
    const onTarget1 = client(0);
    const bound = DaemonHarness.targetOf(harness.clientFrame(onTarget1, 80, TCP_ACK));
    const linesBefore = harness.logLines.length;
    const disable = await cli(["disable", "target", String(bound)]);
    expect(disable.exitCode).toBe(0);
    expect(disable.stdout).toContain("drain");
    // One log line for the operator's action, not a warning.
    const disabledLines = harness.logLines.slice(linesBefore).filter((line) => / target-disabled /.test(line));
    expect(disabledLines).toHaveLength(1);
    expect(disabledLines[0]).toMatch(/ info  target-disabled target=\d+ .*cause="disabled by operator"/);
    expect((await status()).targets.find((t) => t.id === bound)!.state).toBe("disabled");
    expect(DaemonHarness.targetOf(harness.clientFrame(onTarget1, 80, TCP_ACK))).toBe(bound);
    for (let i = 100; i < 120; i++) expect(DaemonHarness.targetOf(harness.clientFrame(client(i)))).not.toBe(bound);
    expect((await cli(["enable", "target", String(bound)])).exitCode).toBe(0);
    await harness.waitFor(async () => (await status()).targets.find((t) => t.id === bound)!.state === "up", "target up again");
    expect(harness.logLines.slice(linesBefore).some((line) => new RegExp(` info  target-(up|pending) target=${bound} .*cause="enabled by operator`).test(line))).toBe(true);
    const after = new Set<number | undefined>();
    for (let i = 200; i < 210; i++) after.add(DaemonHarness.targetOf(harness.clientFrame(client(i))));
    expect(after.has(bound)).toBe(true);
    const unknown = await cli(["disable", "target", "9"]);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toContain("no target 9");
  });

  test("disable server: its VIP is no longer answered and its frames are dropped; enable announces it again", async () => {
    const arpRequest = arpFrame({ op: 1, senderMac: "02:00:00:00:aa:02", senderIp: "172.16.1.254", targetIp: VIP });
    expect((await cli(["disable", "server", "1"])).stdout).toContain("no longer answered");
    harness.io.inject(arpRequest, { pktType: 1 });
    expect(harness.pump()).toHaveLength(0);
    expect(harness.clientFrame(client(0), 80, TCP_ACK)).toBeUndefined();
    expect((await status()).drops.server_disabled).toBeGreaterThanOrEqual(1);
    const announcedBefore = harness.hostFrames.length;
    expect((await cli(["enable", "server", "1"])).exitCode).toBe(0);
    harness.io.inject(arpRequest, { pktType: 1 });
    const reply = harness.pump();
    expect(reply).toHaveLength(1);
    expect(Array.from(reply[0]!.subarray(22, 28), (b) => b.toString(16).padStart(2, "0")).join(":")).toBe(OWN_MAC);
    await harness.waitFor(() => harness.hostFrames.length > announcedBefore, "a gratuitous ARP");
    const announcement = harness.hostFrames[announcedBefore]!;
    expect(Array.from(announcement.subarray(28, 32)).join(".")).toBe(VIP);
    expect(Array.from(announcement.subarray(38, 42)).join(".")).toBe(VIP);
  });

  test("a target that goes down loses its sessions; its clients are re-balanced on their next packet", async () => {
    const clientsOf1: string[] = [];
    for (let i = 0; i < 40; i++) if (DaemonHarness.targetOf(harness.clientFrame(client(i), 80, TCP_ACK)) === 1) clientsOf1.push(client(i));
    expect(clientsOf1.length).toBeGreaterThan(0);
    harness.healthy.delete("172.16.1.100");
    await harness.waitFor(async () => (await status()).targets[0]!.state === "down", "target 1 down", 6000);
    expect((await status()).targets[0]!.sessions).toBe(0);
    for (const c of clientsOf1) expect(DaemonHarness.targetOf(harness.clientFrame(c, 80, TCP_ACK))).toBe(2);
    expect(harness.logLines.some((line) => /target-down target=1 .*tcpopen 80 refused/.test(line))).toBe(true);
    harness.healthy.add("172.16.1.100");
    await harness.waitFor(async () => (await status()).targets[0]!.state === "up", "target 1 up again", 3000);
  }, 15_000);

  test("reload while traffic flows: a third target joins, every existing client keeps its target and health", async () => {
    const before = new Map<string, number | undefined>();
    for (let i = 0; i < 40; i++) before.set(client(i), DaemonHarness.targetOf(harness.clientFrame(client(i), 80, TCP_ACK)));
    const upLinesBefore = harness.logLines.filter((line) => / target-up /.test(line)).length;
    harness.healthy.add("172.16.1.102");
    const three = SEED_FAST.replace("targets 1,2\n}", "targets 1,2,3\n}")
      .replace("register targets 1,2", "target 3 {\nipaddr 172.16.1.102\nport 80\nprotocol tcp\ntcpopen 80,1,2\ndsr enable\n}\nregister targets 1,2,3")
      .replace("enable targets 1,2", "enable targets 1,2,3");
    const file = harness.writeConfig("three.conf", three);
    const filteredBefore = harness.kernelDroppedVips.length;
    const reload = await cli(["reload", file]);
    expect(reload.exitCode).toBe(0);
    // The kernel's copies of VIP frames are dropped from the start, and again for the reloaded set.
    expect(harness.kernelDroppedVips[0]).toEqual([ip(VIP)]);
    expect(harness.kernelDroppedVips.slice(filteredBefore)).toEqual([[ip(VIP)]]);
    for (let i = 0; i < 40; i++) expect(DaemonHarness.targetOf(harness.clientFrame(client(i), 80, TCP_ACK))).toBe(before.get(client(i)));
    harness.answerArp([3]);
    await harness.waitFor(async () => (await status()).targets.find((t) => t.id === 3)?.state === "up", "target 3 up");
    // Only target 3 came up: 1 and 2 kept their state through the reload.
    expect(harness.logLines.filter((line) => / target-up /.test(line)).slice(upLinesBefore).every((line) => line.includes("target=3"))).toBe(true);
    const report = await status();
    expect(report.config).toBe(file);
    expect(report.servers[0]!.targets).toEqual([1, 2, 3]);
  });

  test("a reload that changes a server's timeout gives its existing sessions the new one", async () => {
    const timeouts = () => new Set(harness.sessions!.list(harness.sessions!.secondsAt(Date.now())).map((s) => s.timeoutS));
    expect(timeouts()).toEqual(new Set([600]));
    const file = harness.writeConfig("timeout.conf", SEED_FAST.replace("targets 1,2\n}", "targets 1,2\ntimeout 120\n}"));
    expect((await cli(["reload", file])).exitCode).toBe(0);
    expect(timeouts()).toEqual(new Set([120]));
  });

  test("a reload with a broken file reports every error and changes nothing", async () => {
    const before = await status();
    const broken = harness.writeConfig(
      "broken.conf",
      SEED_FAST.replace("port 80\nprotocol tcp\ntargets 1,2", "port 70000\nprotocol tcpp\ntargets 1,2").replace("ipaddr 172.16.1.101", "ipaddr 172.16.1.301"),
    );
    const reply = await ask({ cmd: "reload", file: broken });
    expect(reply.ok).toBe(false);
    if (reply.ok) return;
    expect(reply.error).toContain("the running configuration stays");
    expect(reply.errors?.length).toBe(3);
    expect(reply.errors!.join("\n")).toMatch(/70000/);
    expect(reply.errors!.join("\n")).toMatch(/tcpp/);
    expect(reply.errors!.join("\n")).toMatch(/172\.16\.1\.301/);
    const fromCli = await cli(["reload", broken]);
    expect(fromCli.exitCode).toBe(1);
    expect(fromCli.stderr).toContain("broken.conf:");
    const after = await status();
    expect(after.config).toBe(before.config);
    expect(after.servers).toEqual(before.servers);
    expect(after.targets.map((t) => [t.id, t.state])).toEqual(before.targets.map((t) => [t.id, t.state]));
  });

  test("metrics: the Prometheus text format, checked strictly", async () => {
    const result = await cli(["metrics"]);
    expect(result.exitCode).toBe(0);
    expect(validateExposition(result.stdout)).toEqual([]);
    expect(result.stdout).toMatch(/^bng_target_packets_total\{target="1",address="172\.16\.1\.100:80"\} [1-9]/m);
    expect(result.stdout).toMatch(/^bng_drops_total\{reason="server_disabled"\} [1-9]/m);
    // Batch sizes are recorded by worker threads, which this in-memory data plane has none of.
    expect(result.stdout).toMatch(/^bng_worker_batch_frames_count 0$/m);
    expect(escapeLabelValue('a "quoted" \\ path\nnext')).toBe('a \\"quoted\\" \\\\ path\\nnext');
  });

  test.skipIf(process.getuid?.() !== 0)("a user other than root cannot connect to the socket; root still can", async () => {
    const name = `bngtest${process.pid % 100000}`;
    const add = Bun.spawnSync(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name]);
    expect(add.exitCode).toBe(0);
    try {
      const uid = Bun.spawnSync(["id", "-u", name]).stdout.toString().trim();
      const gid = Bun.spawnSync(["id", "-g", name]).stdout.toString().trim();
      const asUser = (argv: string[]) => Bun.spawn(["setpriv", `--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", ...argv], { stdout: "pipe", stderr: "pipe", cwd: "/" });
      // Node reports the kernel's errno as it is (Bun says ENOENT for a refused unix socket).
      const probe = `require("node:net").connect(${JSON.stringify(harness.socket)}).on("connect", () => { console.log("connected"); process.exit(0); }).on("error", (e) => { console.log(e.code); process.exit(0); });`;
      const raw = asUser(["node", "-e", probe]);
      expect((await new Response(raw.stdout).text()).trim()).toBe("EACCES");
      const viaCli = asUser([BUN, join(REPO, "src/cli/main.ts"), "status", "--socket", harness.socket]);
      const [cliErr, cliCode] = await Promise.all([new Response(viaCli.stderr).text(), viaCli.exited]);
      expect(cliCode).toBe(1);
      expect(cliErr).toContain("permission denied: the control socket is for root only");
      expect((await ask({ cmd: "status" })).ok).toBe(true);
    } finally {
      Bun.spawnSync(["userdel", name]);
    }
  });

  test("stop: the daemon replies, then stops", async () => {
    const reply = await ask({ cmd: "stop" });
    expect(reply.ok).toBe(true);
    await harness.daemon.stopped;
    expect(harness.logLines.some((line) => / stopped /.test(line))).toBe(true);
  });
});

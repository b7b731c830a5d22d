// Issue 5's acceptance, in memory: a real Daemon with its real control socket, the seed's DSR
// config, and a data plane the test feeds frame by frame. Every command goes over the socket
// twice, by the protocol (sendControlRequest) and by the command line (main() in this
// process), and what they say is checked against the traffic the test pushed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import * as v from "valibot";
import { formatDiagnostic, loadConfigFile } from "../../src/config/index.ts";
import { escapeLabelValue } from "../../src/control/metrics.ts";
import type { ControlReply, ControlRequest } from "../../src/control/protocol.ts";
import { sendControlRequest } from "../../src/control/socket-client.ts";
import { recordIoTotals, workerCounters } from "../../src/dataplane/counters.ts";
import { ENETDOWN, ENOBUFS } from "../../ffi/errors.ts";
import { arpFrame, icmpFrame, ip, mac, tcpFrame } from "../fixtures/frames.ts";
import { withThirdTarget } from "../e2e/bng.ts";
import {
  CLIENT_MAC,
  columnStarts,
  DaemonHarness,
  OWN_MAC,
  runCli,
  sampleValue,
  SEED_CONFIG_TEXT,
  SEED_FAST_CHECKS_TEXT,
  TCP_ACK,
  TCP_SYN,
  validateExposition,
  VIP,
} from "./harness.ts";

// ---- the spec's `status --json` names (spec.md, Control): a public interface ----------------
const Count = v.pipe(v.number(), v.integer(), v.minValue(0));
const Id = v.pipe(v.number(), v.integer(), v.minValue(1));
const Mac = v.pipe(v.string(), v.regex(/^(?:[0-9a-f]{2}:){5}[0-9a-f]{2}$/));
const ServerSchema = v.object({
  id: Id,
  ipaddr: v.pipe(v.string(), v.ipv4()),
  port: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65535)),
  protocol: v.picklist(["tcp", "udp"]),
  method: v.picklist(["rr", "random", "hash", "session", "wrr", "wrandom", "first", "maglev"]),
  sessions: Count,
  packets: Count,
  bytes: Count,
  targets: v.array(Id),
});
const TargetSchema = v.object({
  id: Id,
  ipaddr: v.pipe(v.string(), v.ipv4()),
  port: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65535)),
  state: v.picklist(["up", "down", "disabled"]),
  enabled: v.boolean(),
  mac: v.nullable(Mac),
  sessions: Count,
  packets: Count,
  bytes: Count,
});
const StatusSchema = v.object({
  version: v.pipe(v.string(), v.regex(/^\d+\.\d+\.\d+/)),
  pid: v.pipe(v.number(), v.integer(), v.minValue(1)),
  uptime_s: Count,
  config: v.pipe(v.string(), v.startsWith("/")),
  servers: v.array(ServerSchema),
  targets: v.array(TargetSchema),
  drops: v.record(v.pipe(v.string(), v.regex(/^[a-z][a-z0-9_]*$/)), Count),
  io: v.object({ backend: v.picklist(["mmsg", "ring", "xdp"]), frames: Count, kernel_drops: Count, send_refused: Count, receive_errors: Count, last_send_error: v.nullable(v.pipe(v.string(), v.regex(/^E[A-Z0-9]+$/))) }),
});
type Status = v.InferOutput<typeof StatusSchema>;
const SessionsSchema = v.object({
  total: Count,
  sessions: v.array(
    v.object({ server: Id, client: v.pipe(v.string(), v.ipv4()), client_port: v.nullable(Count), target: Id, age_s: Count, idle_s: Count }),
  ),
});
const MessageSchema = v.object({ message: v.string() });

const harness = new DaemonHarness();

/** Ground truth: what the test pushed and where bng sent it. */
const boundTo = new Map<string, number>();
const pushed = new Map<number, { packets: number; bytes: number }>();

async function ask(request: ControlRequest, daemon = harness): Promise<ControlReply> {
  return sendControlRequest(daemon.socket, request);
}
async function result(request: ControlRequest, daemon = harness): Promise<unknown> {
  const reply = await ask(request, daemon);
  if (!reply.ok) throw new Error(`${request.cmd}: ${reply.error}`);
  return reply.result;
}
async function status(daemon = harness): Promise<Status> {
  return v.parse(StatusSchema, await result({ cmd: "status" }, daemon));
}
function cli(...argv: string[]) {
  return runCli([...argv, "--socket", harness.socket]);
}
async function cliJson(...argv: string[]): Promise<unknown> {
  const out = await cli(...argv, "--json");
  if (out.code !== 0) throw new Error(`bng ${argv.join(" ")}: exit ${out.code}: ${out.stderr}`);
  return JSON.parse(out.stdout);
}
function target(report: Status, id: number) {
  const found = report.targets.find((t) => t.id === id);
  if (!found) throw new Error(`no target ${id} in status`);
  return found;
}

function client(i: number): string {
  return `198.51.${100 + Math.floor(i / 250)}.${(i % 250) + 1}`;
}

/** One TCP frame from `source` to VIP:port; returns the target it went to (by destination MAC). */
function send(source: string, options: { flags?: number; payload?: number; port?: number } = {}): number | undefined {
  const frame = tcpFrame({
    src: CLIENT_MAC,
    dst: OWN_MAC,
    srcIp: source,
    dstIp: VIP,
    srcPort: 40000,
    dstPort: options.port ?? 80,
    flags: options.flags ?? TCP_SYN,
    payload: new Uint8Array(options.payload ?? 0),
  });
  harness.io.inject(frame);
  const out = harness.pump();
  expect(out.length).toBeLessThanOrEqual(1);
  const id = DaemonHarness.targetOf(out[0]);
  if (id !== undefined) {
    const forwarded = out[0]!;
    // DSR: only the MACs change; the IP packet is untouched.
    expect(forwarded.subarray(14)).toEqual(frame.subarray(14));
    expect(Array.from(forwarded.subarray(6, 12))).toEqual(Array.from(mac(OWN_MAC)));
    const sums = pushed.get(id) ?? { packets: 0, bytes: 0 };
    sums.packets++;
    sums.bytes += frame.length;
    pushed.set(id, sums);
  }
  return id;
}

/** A client's frame that must stay with its session's target. */
function sendBound(source: string, payload = 0): void {
  const before = boundTo.get(source);
  const now = send(source, { flags: TCP_ACK, payload });
  if (before === undefined) {
    if (now !== undefined) boundTo.set(source, now);
  } else expect({ client: source, target: now }).toEqual({ client: source, target: before });
}

function arpRequestFor(vip: string): Uint8Array {
  return arpFrame({ op: 1, senderMac: "02:00:00:00:aa:fe", senderIp: "172.16.1.254", targetIp: vip });
}
/** [op, sender ip, target ip] of an ARP frame. */
function arpFields(frame: Uint8Array): [number, string, string] {
  return [(frame[20]! << 8) | frame[21]!, Array.from(frame.subarray(28, 32)).join("."), Array.from(frame.subarray(38, 42)).join(".")];
}
function gratuitousArps(since = 0): Uint8Array[] {
  return harness.hostFrames.slice(since).filter((frame) => {
    const [, sender, target] = arpFields(frame);
    return sender === VIP && target === VIP;
  });
}

beforeAll(async () => {
  harness.healthy.add("172.16.1.100").add("172.16.1.101").add("172.16.1.102").add("172.16.1.103");
  await harness.start(SEED_CONFIG_TEXT);
  // bng asks for its targets' MACs from its real address as soon as it starts.
  const requests = harness.hostFrames.filter((frame) => arpFields(frame)[0] === 1).map((frame) => arpFields(frame).slice(1));
  expect(requests).toContainEqual(["172.16.1.252", "172.16.1.100"]);
  expect(requests).toContainEqual(["172.16.1.252", "172.16.1.101"]);
  harness.answerArp([1, 2]);
  await harness.waitFor(async () => (await status()).targets.every((t) => t.state === "up"), "both targets up with their MACs");
}, 15_000);

afterAll(async () => {
  await harness.stop();
});

describe("issue 5: every control command against a running daemon", () => {
  test("start-up: the kernel's copies of frames to the VIP are dropped; three gratuitous ARPs announce the VIP with bng's MAC", async () => {
    expect(harness.kernelDroppedVips).toEqual([[ip(VIP)]]);
    await harness.waitFor(() => gratuitousArps().length >= 3, "three gratuitous ARPs", 4000);
    const announcements = gratuitousArps();
    expect(announcements).toHaveLength(3);
    for (const frame of announcements) expect(Array.from(frame.subarray(22, 28))).toEqual(Array.from(mac(OWN_MAC)));
  });

  test("status: the spec's names, by protocol and by CLI, and numbers that agree with the traffic", async () => {
    for (let i = 0; i < 60; i++) sendBound(client(i));
    for (let i = 0; i < 30; i++) sendBound(client(i), 100 + i);
    const dropsBefore = (await status()).drops.no_server ?? 0;
    for (let i = 0; i < 5; i++) expect(send(client(i), { port: 81 })).toBeUndefined();

    const report = await status();
    const fromCli = v.parse(StatusSchema, await cliJson("status"));
    for (const view of [report, fromCli]) {
      expect(view.drops.no_server).toBe(dropsBefore + 5);
      expect(view.servers).toHaveLength(1);
      const server = view.servers[0]!;
      expect(server).toMatchObject({ id: 1, ipaddr: VIP, port: 80, protocol: "tcp", method: "rr", targets: [1, 2] });
      expect(server.sessions).toBe(60);
      expect(server.packets).toBe(90);
      expect(server.bytes).toBe([...pushed.values()].reduce((sum, t) => sum + t.bytes, 0));
      for (const id of [1, 2]) {
        const t = target(view, id);
        expect(t.state).toBe("up");
        expect(t.mac).toBe(`02:00:00:00:0b:0${id}`);
        expect({ id, packets: t.packets, bytes: t.bytes }).toEqual({ id, ...pushed.get(id)! });
        expect(t.sessions).toBe([...boundTo.values()].filter((bound) => bound === id).length);
      }
    }
    // rr over two targets: the 60 new clients alternate.
    expect(target(report, 1).sessions).toBe(30);
    expect(fromCli.pid).toBe(report.pid);
    expect(fromCli.config).toBe(report.config);
  });

  test("status for people: aligned tables, each target's last check and the session count", async () => {
    const out = await cli("status");
    expect(out.code).toBe(0);
    const lines = out.stdout.split("\n");
    for (const header of [/^SERVER\s+NAME\s+VIRTUAL\s+PROTO\s+METHOD/, /^TARGET\s+NAME\s+ADDRESS\s+STATE\s+MAC/]) {
      const at = lines.findIndex((line) => header.test(line));
      expect(at).toBeGreaterThanOrEqual(0);
      const rows = [];
      for (let i = at + 1; i < lines.length && /^\d/.test(lines[i]!); i++) rows.push(lines[i]!);
      expect(rows.length).toBeGreaterThan(0);
      const starts = columnStarts(lines[at]!);
      expect(starts.length).toBeGreaterThan(4);
      // Every value begins exactly under its header (a cell may be wider than its header, never shifted).
      for (const row of rows) for (const start of columnStarts(row)) expect(starts).toContain(start);
    }
    expect(out.stdout).toMatch(/^1\s+-\s+172\.16\.1\.10:80\s+tcp\s+rr\s+enabled/m);
    expect(out.stdout).toMatch(/^2\s+-\s+172\.16\.1\.101:80\s+up\s+02:00:00:00:0b:02/m);
    // Each target's last check, with its latency (the harness's probes answer in 0.25 ms).
    expect(out.stdout).toContain("tcpopen 80 ok 0.3ms");
    expect(out.stdout).toMatch(new RegExp(`^sessions: ${boundTo.size} of \\d+`, "m"));
  });

  test("show servers|targets|networks: the same objects by protocol and by CLI; an unknown subject is a usage error", async () => {
    const report = await status();
    const servers = v.parse(v.array(ServerSchema), await result({ cmd: "show", what: "servers" }));
    expect(servers).toEqual(report.servers);
    expect(v.parse(v.array(ServerSchema), await cliJson("show", "servers"))).toEqual(report.servers);
    const targets = v.parse(v.array(TargetSchema), await result({ cmd: "show", what: "targets" }));
    expect(targets.map((t) => [t.id, t.state, t.mac, t.sessions, t.packets])).toEqual(report.targets.map((t) => [t.id, t.state, t.mac, t.sessions, t.packets]));
    const human = await cli("show", "targets");
    expect(human.stdout.split("\n").filter((line) => /^\d/.test(line)).map((line) => line.split(/\s+/)[0])).toEqual(["1", "2"]);
    const network = { id: 1, name: "local network", addr: "172.16.1.0", mask: "255.255.255.0", real: "172.16.1.252", interface: "eth0" };
    expect(await result({ cmd: "show", what: "networks" })).toEqual([network]);
    expect(await cliJson("show", "networks")).toEqual([network]);
    expect((await cli("show", "networks")).stdout).toMatch(/^1\s+local network\s+172\.16\.1\.0\s+172\.16\.1\.252\s+eth0$/m);
    expect((await cli("show", "bogus")).code).toBe(2);
  });

  test("show sessions with --server, --target, --client, --limit: exactly the sessions the traffic made", async () => {
    const all = v.parse(SessionsSchema, await result({ cmd: "show", what: "sessions", limit: 1000 }));
    expect(all.total).toBe(boundTo.size);
    expect(new Map(all.sessions.map((s) => [s.client, s.target]))).toEqual(boundTo);
    expect(all.sessions.every((s) => s.server === 1 && s.client_port === null && s.idle_s <= s.age_s)).toBe(true);
    const byCli = v.parse(SessionsSchema, await cliJson("show", "sessions", "--limit", "1000"));
    expect(new Map(byCli.sessions.map((s) => [s.client, s.target]))).toEqual(boundTo);

    const defaultLimit = v.parse(SessionsSchema, await cliJson("show", "sessions"));
    expect(defaultLimit.total).toBe(60);
    expect(defaultLimit.sessions).toHaveLength(60); // the default limit is 1000
    const limited = v.parse(SessionsSchema, await cliJson("show", "sessions", "--limit", "7"));
    expect({ total: limited.total, shown: limited.sessions.length }).toEqual({ total: 60, shown: 7 });

    for (const id of [1, 2]) {
      const expected = [...boundTo].filter(([, bound]) => bound === id).map(([c]) => c).sort();
      const viaProtocol = v.parse(SessionsSchema, await result({ cmd: "show", what: "sessions", target: id, limit: 1000 }));
      const viaCli = v.parse(SessionsSchema, await cliJson("show", "sessions", "--target", String(id), "--limit", "1000"));
      for (const view of [viaProtocol, viaCli]) {
        expect(view.total).toBe(expected.length);
        expect(view.sessions.map((s) => s.client).sort()).toEqual(expected);
      }
    }
    expect(v.parse(SessionsSchema, await cliJson("show", "sessions", "--server", "1", "--limit", "2")).total).toBe(60);
    expect(v.parse(SessionsSchema, await cliJson("show", "sessions", "--server", "2"))).toEqual({ total: 0, sessions: [] });
    const one = v.parse(SessionsSchema, await cliJson("show", "sessions", "--client", client(7)));
    expect(one.total).toBe(1);
    expect(one.sessions[0]).toMatchObject({ server: 1, client: client(7), target: boundTo.get(client(7))! });
    // Filters combine.
    const other = boundTo.get(client(7)) === 1 ? 2 : 1;
    expect(v.parse(SessionsSchema, await cliJson("show", "sessions", "--client", client(7), "--target", String(other))).total).toBe(0);

    const human = await cli("show", "sessions", "--target", "1", "--limit", "3");
    expect(human.stdout).toMatch(/^SERVER\s+CLIENT\s+TARGET\s+AGE\s+IDLE$/m);
    expect(human.stdout.split("\n").filter((line) => /^1\s+198\.51\./.test(line))).toHaveLength(3);
    expect(human.stdout).toContain("30 sessions (showing 3)");

    // Bad filters: refused by the protocol, a usage error for the CLI.
    const bad = await ask({ cmd: "show", what: "sessions", client: "198.51.100" } as ControlRequest);
    expect(bad.ok).toBe(false);
    expect((await cli("show", "sessions", "--limit", "0")).code).toBe(2);
    expect((await cli("show", "sessions", "--client", "nonsense")).code).toBe(2);
  });

  test("disable target drains (its clients stay, new clients never get it); enable takes it back; each logged once at info", async () => {
    const victim = 1;
    const itsClients = [...boundTo].filter(([, bound]) => bound === victim).map(([c]) => c);
    const logMark = harness.logLines.length;
    const disabled = await cli("disable", "target", String(victim));
    expect(disabled.code).toBe(0);
    expect(disabled.stdout).toBe(`target 1 disabled: no new sessions; its ${itsClients.length} sessions drain until they expire\n`);
    // One log line for the operator's action, at info: not a warning.
    const disabledLines = harness.logLines.slice(logMark).filter((line) => / target-disabled /.test(line));
    expect(disabledLines).toHaveLength(1);
    expect(disabledLines[0]).toMatch(/ info  target-disabled target=1 .*cause="disabled by operator"/);
    let report = await status();
    expect(target(report, victim).state).toBe("disabled");
    expect(target(report, victim).sessions).toBe(itsClients.length);
    for (const c of itsClients) sendBound(c, 10);
    for (let i = 100; i < 150; i++) {
      sendBound(client(i));
      expect(boundTo.get(client(i))).toBe(2);
    }
    report = await status();
    expect(target(report, victim).sessions).toBe(itsClients.length);
    expect(target(report, 2).sessions).toBe(boundTo.size - itsClients.length);
    // Again by the protocol: nothing to do, and said so.
    expect(v.parse(MessageSchema, await result({ cmd: "disable", kind: "target", id: victim })).message).toBe("target 1 is already disabled");

    expect(v.parse(MessageSchema, await result({ cmd: "enable", kind: "target", id: victim })).message).toContain("target 1 enabled");
    expect(target(await status(), victim).state).toBe("up");
    expect(harness.logLines.slice(logMark).filter((line) => / info  target-(up|pending) target=1 .*cause="enabled by operator/.test(line))).toHaveLength(1);
    const fresh = [];
    for (let i = 150; i < 160; i++) {
      sendBound(client(i));
      fresh.push(boundTo.get(client(i)));
    }
    expect(fresh.filter((t) => t === victim).length).toBe(5);
    for (const c of itsClients) sendBound(c);

    const unknown = await cli("enable", "target", "9");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("no target 9 (targets: 1, 2)");
    expect((await cli("enable", "target", "x")).code).toBe(2);
  });

  test("disable server: its VIP's ARP is not answered, its frames are dropped as server_disabled; enable answers and announces again", async () => {
    const before = (await status()).drops.server_disabled ?? 0;
    const reply = v.parse(MessageSchema, await result({ cmd: "disable", kind: "server", id: 1 }));
    expect(reply.message).toBe("server 1 disabled: 172.16.1.10 is no longer answered");
    harness.io.inject(arpRequestFor(VIP), { pktType: 1 });
    expect(harness.pump()).toEqual([]);
    for (let i = 0; i < 7; i++) expect(send(client(i), { flags: TCP_ACK })).toBeUndefined();
    for (let i = 500; i < 503; i++) expect(send(client(i))).toBeUndefined();
    harness.io.inject(icmpFrame({ src: CLIENT_MAC, dst: OWN_MAC, srcIp: client(0), dstIp: VIP, type: 8, code: 0 }));
    expect(harness.pump()).toEqual([]);
    const disabled = await status();
    expect(disabled.drops.server_disabled).toBe(before + 11);
    expect(disabled.servers[0]!.sessions).toBe(boundTo.size); // sessions are kept while the server is off
    expect((await cli("status")).stdout).toMatch(/^1\s+-\s+172\.16\.1\.10:80\s+tcp\s+rr\s+disabled/m);

    const announced = harness.hostFrames.length;
    const enabled = await cli("enable", "server", "1");
    expect(enabled.stdout).toBe("server 1 enabled: 172.16.1.10:80 is answered\n");
    harness.io.inject(arpRequestFor(VIP), { pktType: 1 });
    const answer = harness.pump();
    expect(answer).toHaveLength(1);
    expect(arpFields(answer[0]!)).toEqual([2, VIP, "172.16.1.254"]);
    expect(Array.from(answer[0]!.subarray(22, 28))).toEqual(Array.from(mac(OWN_MAC)));
    await harness.waitFor(() => gratuitousArps(announced).length >= 3, "three gratuitous ARPs after enable", 4000);
    expect(gratuitousArps(announced)).toHaveLength(3);
    for (let i = 0; i < 10; i++) sendBound(client(i));
    expect((await status()).drops.server_disabled).toBe(before + 11);
    expect((await cli("disable", "server", "3")).stderr).toContain("no server 3");
  }, 10_000);

  test("reload while frames flow: a third target joins; every client keeps its target, session, MAC and health; the VIP filter is renewed", async () => {
    const sessionsBefore = v.parse(SessionsSchema, await result({ cmd: "show", what: "sessions", limit: 1000 }));
    const statusBefore = await status();
    const logMark = harness.logLines.length;
    const vipListsBefore = harness.kernelDroppedVips.length;
    const file = harness.writeConfig("three.conf", withThirdTarget(SEED_CONFIG_TEXT));
    const clients = [...boundTo.keys()];

    const reload = cli("reload", file);
    let settled = false;
    void reload.then(() => (settled = true));
    let during = 0;
    while (!settled) {
      // The reply is on its way through the socket; the data plane keeps forwarding meanwhile.
      for (let k = 0; k < 5; k++) sendBound(clients[during++ % clients.length]!);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const done = await reload;
    expect(done.code).toBe(0);
    expect(done.stdout).toBe(`reloaded ${file}: 1 server, 3 targets\n`);
    // The host is told again which VIPs' frames its kernel must drop: the reloaded set.
    expect(harness.kernelDroppedVips.slice(vipListsBefore)).toEqual([[ip(VIP)]]);
    expect(during).toBeGreaterThan(0);
    for (const c of clients) sendBound(c, 20);

    const after = await status();
    expect(after.config).toBe(file);
    expect(after.servers[0]!.targets).toEqual([1, 2, 3]);
    for (const id of [1, 2]) {
      expect(target(after, id).state).toBe("up");
      expect(target(after, id).mac).toBe(target(statusBefore, id).mac);
      expect(target(after, id).sessions).toBe(target(statusBefore, id).sessions);
    }
    expect(target(after, 3).state).toBe("down"); // its MAC is not known yet
    const sessionsAfter = v.parse(SessionsSchema, await result({ cmd: "show", what: "sessions", limit: 1000 }));
    const ageAfter = new Map(sessionsAfter.sessions.map((s) => [s.client, s]));
    for (const old of sessionsBefore.sessions) {
      const now = ageAfter.get(old.client);
      expect(now?.target).toBe(old.target);
      expect(now!.age_s).toBeGreaterThanOrEqual(old.age_s); // the same session, not a new one
    }
    const logSince = harness.logLines.slice(logMark);
    expect(logSince.filter((line) => /target-(up|down|pending)|target-mac-learned|sessions-removed/.test(line) && /target=[12]\b/.test(line))).toEqual([]);
    expect(logSince.some((line) => / reloaded /.test(line))).toBe(true);

    harness.answerArp([3]);
    await harness.waitFor(async () => target(await status(), 3).state === "up", "target 3 up");
    const fresh = new Set<number | undefined>();
    for (let i = 600; i < 606; i++) {
      sendBound(client(i));
      fresh.add(boundTo.get(client(i)));
    }
    expect(fresh).toEqual(new Set([1, 2, 3]));
    for (const c of clients) sendBound(c);
  });

  test("reload of a broken file: refused with every error, by protocol and by CLI; nothing changes", async () => {
    const before = await status();
    const sessionsBefore = v.parse(SessionsSchema, await result({ cmd: "show", what: "sessions", limit: 1000 }));
    const broken = harness.writeConfig(
      "broken.conf",
      withThirdTarget(SEED_CONFIG_TEXT)
        .replace("protocol tcp\ntargets 1,2,3", "protocol tcpp\ntargets 1,2,3")
        .replace("ipaddr 172.16.1.101", "ipaddr 172.16.1.301")
        .replace("tcpopen 80,3,10\ndsr enable\n}\ntarget 2", "tcpopn 80,3,10\ndsr enable\n}\ntarget 2"),
    );
    const checked = loadConfigFile(broken);
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    const source = readFileSync(broken, "utf8");
    const expected = checked.errors.map((error) => formatDiagnostic(error, source));
    expect(expected.length).toBeGreaterThanOrEqual(3);

    const reply = await ask({ cmd: "reload", file: broken });
    expect(reply.ok).toBe(false);
    if (reply.ok) return;
    expect(reply.error).toBe(`reload refused, the running configuration stays: ${broken}: ${expected.length} configuration errors`);
    expect(reply.errors).toEqual(expected);
    expect(reply.errors!.join("\n")).toMatch(/tcpp/);
    expect(reply.errors!.join("\n")).toMatch(/172\.16\.1\.301/);
    expect(reply.errors!.join("\n")).toMatch(/tcpopn/);

    const byCli = await cli("reload", broken);
    expect(byCli.code).toBe(1);
    expect(byCli.stdout).toBe("");
    for (const line of expected) expect(byCli.stderr).toContain(line);

    const network = await ask({ cmd: "reload", file: harness.writeConfig("moved.conf", SEED_CONFIG_TEXT.replace("real 172.16.1.252", "real 172.16.1.251")) });
    expect(network).toEqual({
      ok: false,
      error: "reload refused: bng's real address 172.16.1.252/24 would no longer be used; bng would need the new real address 172.16.1.251/24; that needs a restart of bng",
    });

    for (const c of boundTo.keys()) sendBound(c);
    const after = await status();
    expect(after.config).toBe(before.config);
    expect(after.servers.map(({ packets: _p, bytes: _b, ...rest }) => rest)).toEqual(before.servers.map(({ packets: _p, bytes: _b, ...rest }) => rest));
    expect(after.targets.map((t) => [t.id, t.ipaddr, t.state, t.mac, t.sessions])).toEqual(before.targets.map((t) => [t.id, t.ipaddr, t.state, t.mac, t.sessions]));
    const sessionsAfter = v.parse(SessionsSchema, await result({ cmd: "show", what: "sessions", limit: 1000 }));
    expect(new Map(sessionsAfter.sessions.map((s) => [s.client, s.target]))).toEqual(new Map(sessionsBefore.sessions.map((s) => [s.client, s.target])));
  });

  test("reload that moves a target id to another address: it starts afresh and never inherits the old host's MAC", async () => {
    const ofThree = [...boundTo].filter(([, t]) => t === 3).map(([c]) => c);
    expect(ofThree.length).toBeGreaterThan(0);
    const marks = harness.hostFrames.length;
    const moved = harness.writeConfig("moved3.conf", withThirdTarget(SEED_CONFIG_TEXT).replace("ipaddr 172.16.1.102", "ipaddr 172.16.1.103"));
    expect(v.parse(MessageSchema, await result({ cmd: "reload", file: moved })).message).toContain("3 targets");
    // bng asks the new address for its MAC at once.
    expect(harness.hostFrames.slice(marks).map(arpFields)).toContainEqual([1, "172.16.1.252", "172.16.1.103"]);
    expect(v.parse(SessionsSchema, await result({ cmd: "show", what: "sessions", target: 3 })).total).toBe(0);
    // 172.16.1.103 has not answered: no MAC, so target 3 must take nothing. bng reads learned MACs
    // every 200 ms; watch for a second that none is wrongly adopted.
    const deadline = Date.now() + 1000;
    while (Date.now() < deadline) {
      const three = target(await status(), 3);
      expect({ mac: three.mac, state: three.state }).toEqual({ mac: null, state: "down" });
      await Bun.sleep(50);
    }
    for (const c of ofThree) {
      const to = send(c, { flags: TCP_ACK });
      expect(to === 1 || to === 2).toBe(true);
      boundTo.set(c, to!);
    }
    harness.io.inject(arpFrame({ op: 2, dst: OWN_MAC, senderMac: "02:00:00:00:0b:33", senderIp: "172.16.1.103", targetMac: OWN_MAC, targetIp: "172.16.1.252" }));
    harness.pump();
    await harness.waitFor(async () => target(await status(), 3).mac === "02:00:00:00:0b:33", "the new MAC of target 3");
  }, 10_000);

  test("metrics: strict exposition, by protocol and by CLI, agreeing with status", async () => {
    const text = String(await result({ cmd: "metrics" }));
    expect(validateExposition(text)).toEqual([]);
    const byCli = await cli("metrics");
    expect(byCli.code).toBe(0);
    expect(validateExposition(byCli.stdout)).toEqual([]);
    const stable = (exposition: string) => exposition.split("\n").filter((line) => !/uptime|timer_lag/.test(line));
    expect(stable(byCli.stdout)).toEqual(stable(text));

    const report = await status();
    for (const t of report.targets) {
      const labels = `{target="${t.id}",address="${t.ipaddr}:${t.port}"}`;
      expect(sampleValue(text, `bng_target_packets_total${labels}`)).toBe(t.packets);
      expect(sampleValue(text, `bng_target_bytes_total${labels}`)).toBe(t.bytes);
      expect(sampleValue(text, `bng_target_sessions${labels}`)).toBe(t.sessions);
      expect(sampleValue(text, `bng_target_up${labels}`)).toBe(t.state === "up" ? 1 : 0);
      expect(sampleValue(text, `bng_target_enabled${labels}`)).toBe(t.enabled ? 1 : 0);
    }
    expect(sampleValue(text, `bng_server_packets_total{server="1",vip="172.16.1.10:80/tcp"}`)).toBe(report.servers[0]!.packets);
    for (const [reason, count] of Object.entries(report.drops)) expect(sampleValue(text, `bng_drops_total{reason="${reason}"}`)).toBe(count);
    // The health checks' latency histogram has a series per checked destination.
    expect(text).toMatch(/^bng_health_check_latency_seconds_count\{check="tcpopen",destination="172\.16\.1\.100:80"\} [1-9]/m);
    // Batch sizes are recorded by worker threads, which this in-memory data plane has none of.
    expect(sampleValue(text, "bng_worker_batch_frames_count")).toBe(0);
  });

  test("packet i/o losses: status, metrics and the CLI show the workers' totals; frames-lost is logged at the first loss, then not again within the minute", async () => {
    const logMark = harness.logLines.length;
    const lostLines = () => harness.logLines.slice(logMark).filter((line) => / frames-lost /.test(line));
    const before = await status();
    expect(before.io).toEqual({ backend: "mmsg", frames: before.io.frames, kernel_drops: 0, send_refused: 0, receive_errors: 0, last_send_error: null });
    expect(before.io.frames).toBeGreaterThan(0);
    // What a worker thread copies from its socket once a second.
    const region = workerCounters(harness.daemon.shared.countersBuffer, 0);
    recordIoTotals(region, { kernelDrops: 120, sendDropped: 3, receiveErrors: 1, lastSendErrno: ENOBUFS });
    await harness.waitFor(() => lostLines().length > 0, "a frames-lost line", 3000);
    // The daemon has run for many seconds, but these losses happened within the last one or two.
    expect(lostLines()).toEqual([expect.stringMatching(/ warn  frames-lost kernel_drops=120 send_refused=3 over_s=[0-2] kernel_drops_total=120 send_refused_total=3 last_send_error=ENOBUFS$/)]);

    const report = await status();
    expect(report.io).toEqual({ ...before.io, kernel_drops: 120, send_refused: 3, receive_errors: 1, last_send_error: "ENOBUFS" });
    const text = String(await result({ cmd: "metrics" }));
    expect([sampleValue(text, "bng_kernel_drops_total"), sampleValue(text, "bng_send_refused_total"), sampleValue(text, "bng_receive_errors_total")]).toEqual([120, 3, 1]);
    const human = await cli("status");
    expect(human.stdout).toMatch(/^packet i\/o \(mmsg\): \d+ frames received; lost in the kernel \(queue or ring full\) 120, refused on send 3 \(last ENOBUFS\), receive errors 1$/m);

    // More losses within the minute are counted, and not logged again yet (the watch runs every second).
    recordIoTotals(region, { kernelDrops: 150, sendDropped: 3, receiveErrors: 1, lastSendErrno: ENOBUFS });
    await Bun.sleep(2300);
    expect(lostLines()).toHaveLength(1);
    expect((await status()).io.kernel_drops).toBe(150);
  });

  test("losses not yet logged when bng stops are logged before `stopped`", async () => {
    const stopping = new DaemonHarness();
    let stopped = false;
    try {
      await stopping.start(SEED_FAST_CHECKS_TEXT);
      const region = workerCounters(stopping.daemon.shared.countersBuffer, 0);
      recordIoTotals(region, { kernelDrops: 7, sendDropped: 0, receiveErrors: 0, lastSendErrno: 0 });
      await stopping.waitFor(() => stopping.logLines.some((line) => / frames-lost /.test(line)), "the first frames-lost line", 3000);
      recordIoTotals(region, { kernelDrops: 10, sendDropped: 2, receiveErrors: 0, lastSendErrno: ENETDOWN });
      await stopping.stop();
      stopped = true;
    } finally {
      if (!stopped) await stopping.stop();
    }
    const tail = stopping.logLines.filter((line) => / (frames-lost|stopped) /.test(line));
    expect(tail).toEqual([
      expect.stringMatching(/ frames-lost kernel_drops=7 send_refused=0 over_s=\d+ kernel_drops_total=7 send_refused_total=0 last_send_error=none$/),
      expect.stringMatching(/ frames-lost kernel_drops=3 send_refused=2 over_s=\d+ kernel_drops_total=10 send_refused_total=2 last_send_error=ENETDOWN$/),
      expect.stringMatching(/ info  stopped /),
    ]);
  });

  test("the exposition checker rejects what it must, and label values are escaped", () => {
    const ok = "# HELP a_total A.\n# TYPE a_total counter\na_total 1\n";
    expect(validateExposition(ok)).toEqual([]);
    const rejects: [string, RegExp][] = [
      ["# TYPE a counter\na 1\n", /HELP/],
      ["# HELP a A.\n# HELP a A.\n# TYPE a counter\na 1\n", /2 HELP/],
      ["# HELP a A.\n# TYPE a counter\n# TYPE a counter\na 1\n", /2 TYPE/],
      ["# HELP a A.\n# TYPE a counter\nb 1\n", /b: sample without HELP/],
      ["# HELP a A.\n# TYPE a gauge\na{x=\"1\"} 1\na{x=\"1\"} 2\n", /duplicate series/],
      ["# HELP a A.\n# TYPE a gauge\na one\n", /not a number/],
      ["# HELP a A.\n# TYPE a gauge\na{x=\"b\\q\"} 1\n", /badly escaped/],
      ["# HELP a A.\n# TYPE a gauge\na{x=\"say \"hi\"\"} 1\n", /malformed|badly escaped|comma/],
      ["# HELP h H.\n# TYPE h histogram\nh 1\n", /_bucket, _sum or _count/],
      ["# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n", /not cumulative/],
      ["# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n", /\+Inf/],
      ["# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n", /differs from _count/],
      ["# HELP a A.\n# TYPE a gauge\na 1", /newline/],
      ["# HELP a A.\n# TYPE a gauge\na 1\n# HELP b B.\n# TYPE b gauge\nb 1\na 2\n", /outside its family/],
    ];
    for (const [text, problem] of rejects) expect({ text, problems: validateExposition(text).join("; ") }).toEqual({ text, problems: expect.stringMatching(problem) });

    const nasty = 'web "a"\\b\nc';
    expect(escapeLabelValue(nasty)).toBe('web \\"a\\"\\\\b\\nc');
    expect(validateExposition(`# HELP a A.\n# TYPE a gauge\na{name="${escapeLabelValue(nasty)}"} 1\n`)).toEqual([]);
    expect(validateExposition(`# HELP a A.\n# TYPE a gauge\na{name="${nasty}"} 1\n`)).not.toEqual([]);
  });

  test("stop by the CLI: the reply comes first, then the daemon stops and `stopped` resolves", async () => {
    const out = await cli("stop");
    expect(out.code).toBe(0);
    expect(out.stdout).toBe(`bng (pid ${process.pid}) is stopping\n`);
    await Promise.race([harness.daemon.stopped, Bun.sleep(3000).then(() => Promise.reject(new Error("not stopped within 3 s")))]);
    expect(harness.logLines.some((line) => / stopped /.test(line))).toBe(true);
    // Once stopped, the data plane forwards nothing.
    expect(send(client(0), { flags: TCP_ACK })).toBeUndefined();
  });
});

describe("on the seed's file with fast checks (tcpopen 80,1,2): health and session timeouts", () => {
  const fast = new DaemonHarness();
  const sendTo = (source: string, flags = TCP_SYN) => DaemonHarness.targetOf(fast.clientFrame(source, 80, flags));

  beforeAll(async () => {
    fast.healthy.add("172.16.1.100").add("172.16.1.101");
    await fast.start(SEED_FAST_CHECKS_TEXT);
    fast.answerArp([1, 2]);
    await fast.waitFor(async () => (await status(fast)).targets.every((t) => t.state === "up"), "both targets up with their MACs");
  }, 15_000);
  afterAll(() => fast.stop());

  /** New clients, from client(from) on, until `count` of them went to target 1. */
  const newClientsOfTarget1 = (from: number, count: number): string[] => {
    const clients: string[] = [];
    for (let i = from; clients.length < count; i++) if (sendTo(client(i)) === 1) clients.push(client(i));
    return clients;
  };
  /** Runs `body` while target 1's checks fail; afterwards target 1 is healthy, enabled and up again. */
  async function whileTarget1Fails(body: () => Promise<void>): Promise<void> {
    fast.healthy.delete("172.16.1.100");
    try {
      await body();
    } finally {
      fast.healthy.add("172.16.1.100");
      await result({ cmd: "enable", kind: "target", id: 1 }, fast);
      await fast.waitFor(async () => target(await status(fast), 1).state === "up", "target 1 up again", 3000);
    }
  }

  test("a target that goes down loses its sessions, logged with its check's cause; its clients are re-balanced on their next packet", async () => {
    const clientsOf1: string[] = [];
    for (let i = 0; i < 20; i++) if (sendTo(client(i)) === 1) clientsOf1.push(client(i));
    expect(clientsOf1).toHaveLength(10); // rr over two targets
    fast.healthy.delete("172.16.1.100");
    await fast.waitFor(async () => target(await status(fast), 1).state === "down", "target 1 down", 6000);
    expect(target(await status(fast), 1).sessions).toBe(0);
    expect(fast.logLines.filter((line) => / target-down target=1 .*tcpopen 80 refused/.test(line))).toHaveLength(1);
    for (const c of clientsOf1) expect({ client: c, target: sendTo(c, TCP_ACK) }).toEqual({ client: c, target: 2 });
    fast.healthy.add("172.16.1.100");
    await fast.waitFor(async () => target(await status(fast), 1).state === "up", "target 1 up again", 3000);
  }, 15_000);

  test("a draining (disabled) target that dies loses its sessions like any down target; its clients move", async () => {
    const clientsOf1 = newClientsOfTarget1(300, 3);
    expect(v.parse(MessageSchema, await result({ cmd: "disable", kind: "target", id: 1 }, fast)).message).toContain("target 1 disabled");
    for (const c of clientsOf1) expect(sendTo(c, TCP_ACK)).toBe(1);
    const logMark = fast.logLines.length;
    await whileTarget1Fails(async () => {
      await fast.waitFor(async () => target(await status(fast), 1).state === "down", "disabled target 1 down", 6000);
      expect(target(await status(fast), 1).sessions).toBe(0);
      expect(fast.logLines.slice(logMark).filter((line) => / target-down target=1 /.test(line))).toHaveLength(1);
      for (const c of clientsOf1) expect({ client: c, target: sendTo(c, TCP_ACK) }).toEqual({ client: c, target: 2 });
    });
  }, 15_000);

  test("disabling a target that is down is logged and said; when it comes back it stays disabled, and says why", async () => {
    await whileTarget1Fails(async () => {
      await fast.waitFor(async () => target(await status(fast), 1).state === "down", "target 1 down", 6000);
      const logMark = fast.logLines.length;
      expect(v.parse(MessageSchema, await result({ cmd: "disable", kind: "target", id: 1 }, fast)).message).toBe(
        "target 1 disabled: it is down, has no sessions, and stays disabled when it comes back",
      );
      expect(fast.logLines.slice(logMark).filter((line) => / target-/.test(line))).toEqual([expect.stringMatching(/ info  target-disabled target=1 address=172\.16\.1\.100:80 cause="disabled by operator while down"$/)]);
      expect(target(await status(fast), 1)).toMatchObject({ state: "down", enabled: false });
      expect((await runCli(["status", "--socket", fast.socket])).stdout).toMatch(/^1\s+-\s+172\.16\.1\.100:80\s+down, disabled\s/m);
      fast.healthy.add("172.16.1.100");
      await fast.waitFor(async () => target(await status(fast), 1).state === "disabled", "target 1 back, disabled", 3000);
      expect(fast.logLines.slice(logMark).filter((line) => / target-disabled /.test(line)).at(-1)).toMatch(/cause="tcpopen 80 connected in [0-9.]+ ms; disabled by operator"$/);
    });
  }, 15_000);

  test("a reload that changes only a target's checks keeps it up and keeps its clients", async () => {
    const clientsOf1 = newClientsOfTarget1(400, 3);
    const slower = fast.writeConfig("slower-checks.conf", SEED_FAST_CHECKS_TEXT.replace("ipaddr 172.16.1.100\nport 80\nprotocol tcp\ntcpopen 80,1,2", "ipaddr 172.16.1.100\nport 80\nprotocol tcp\ntcpopen 80,2,4"));
    expect(readFileSync(slower, "utf8")).toContain("tcpopen 80,2,4");
    const logMark = fast.logLines.length;
    expect(v.parse(MessageSchema, await result({ cmd: "reload", file: slower }, fast)).message).toContain("reloaded");
    expect(target(await status(fast), 1).state).toBe("up");
    for (const c of clientsOf1) expect({ client: c, target: sendTo(c, TCP_ACK) }).toEqual({ client: c, target: 1 });
    expect(fast.logLines.slice(logMark).filter((line) => / (target-pending|sessions-removed) /.test(line))).toEqual([]);
    expect(v.parse(MessageSchema, await result({ cmd: "reload" }, fast)).message).toContain("reloaded");
  });

  test("a reload that changes a server's timeout gives its existing sessions the new one", async () => {
    for (let i = 100; i < 104; i++) sendTo(client(i));
    const timeouts = () => new Set(fast.sessions!.list(fast.sessions!.secondsAt(fast.daemon.now())).map((session) => session.timeoutS));
    expect(timeouts()).toEqual(new Set([600]));
    const file = fast.writeConfig("timeout.conf", SEED_FAST_CHECKS_TEXT.replace("targets 1,2\n}", "targets 1,2\ntimeout 120\n}"));
    expect(v.parse(MessageSchema, await result({ cmd: "reload", file }, fast)).message).toContain("reloaded");
    expect(timeouts()).toEqual(new Set([120]));
  });

  test("a reload that changes set workers, sessions or io applies the rest and says those wait for the next start", async () => {
    const statusJson = async () => v.parse(v.object({ workers: Id, sessions: v.object({ capacity: Count }) }), await result({ cmd: "status" }, fast));
    const before = await statusJson();
    expect(before.workers).toBe(1);
    const logMark = fast.logLines.length;
    const file = fast.writeConfig("settings.conf", `set workers 2\nset sessions 1000\nset io ring\n${SEED_FAST_CHECKS_TEXT.replace("targets 1,2\n}", "targets 1,2\ntimeout 60\n}")}`);
    const message = v.parse(MessageSchema, await result({ cmd: "reload", file }, fast)).message;
    expect(message).toBe(`reloaded ${file}: 1 server, 2 targets; workers 2, sessions 1000, io ring: only at the next start (running: workers 1, sessions 262144, io mmsg)`);
    expect(fast.sessions!.list(fast.sessions!.secondsAt(fast.daemon.now())).map((session) => session.timeoutS).every((timeout) => timeout === 60)).toBe(true);
    expect(await statusJson()).toEqual(before);
    const logged = fast.logLines.slice(logMark).filter((line) => / reload-deferred /.test(line));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain('settings="workers 2, sessions 1000, io ring" running="workers 1, sessions 262144, io mmsg"');

    // Written out or left to their defaults, the running values are no change.
    for (const settings of ["set workers 1\nset io mmsg\n", ""]) {
      const back = fast.writeConfig("settings-back.conf", `${settings}${SEED_FAST_CHECKS_TEXT}`);
      expect(v.parse(MessageSchema, await result({ cmd: "reload", file: back }, fast)).message).toBe(`reloaded ${back}: 1 server, 2 targets`);
    }
  });

  test("a reload without a file loads the file bng was started with, also after a reload of another file", async () => {
    const startFile = fast.daemon.startConfigPath;
    expect(startFile).toEndWith("/bng.conf");
    const other = fast.writeConfig("other.conf", SEED_FAST_CHECKS_TEXT.replace("targets 1,2\n}", "targets 1,2\ntimeout 90\n}"));
    expect(v.parse(MessageSchema, await result({ cmd: "reload", file: other }, fast)).message).toBe(`reloaded ${other}: 1 server, 2 targets`);
    expect((await status(fast)).config).toBe(other);
    // The operator's disable lasts until the file says otherwise, and the log says it was the file.
    expect(v.parse(MessageSchema, await result({ cmd: "disable", kind: "target", id: 1 }, fast)).message).toContain("target 1 disabled");
    const logMark = fast.logLines.length;
    expect(v.parse(MessageSchema, await result({ cmd: "reload" }, fast)).message).toBe(`reloaded ${startFile}: 1 server, 2 targets`);
    expect((await status(fast)).config).toBe(startFile);
    const enabledLines = fast.logLines.slice(logMark).filter((line) => / target-(up|pending) target=1 /.test(line));
    expect(enabledLines).toHaveLength(1);
    expect(enabledLines[0]).toMatch(/cause="enabled by the configuration, /);
  });

  test("a reload that takes a target out of the server's list moves its clients at once and removes their sessions", async () => {
    const narrowed = new DaemonHarness();
    try {
      narrowed.healthy.add("172.16.1.100").add("172.16.1.101");
      await narrowed.start(SEED_FAST_CHECKS_TEXT);
      narrowed.answerArp([1, 2]);
      await narrowed.waitFor(async () => (await status(narrowed)).targets.every((t) => t.state === "up"), "both targets up");
      const clients = Array.from({ length: 10 }, (_, i) => client(600 + i));
      const first = clients.map((c) => DaemonHarness.targetOf(narrowed.clientFrame(c)));
      expect(new Set(first)).toEqual(new Set([1, 2]));
      const onTarget2 = first.filter((id) => id === 2).length;
      // Made a backup, target 2 is still listed: its clients keep it (a backup's sessions stay).
      const backupMark = narrowed.logLines.length;
      const asBackup = narrowed.writeConfig("backup-2.conf", SEED_FAST_CHECKS_TEXT.replace("targets 1,2\n}", "targets 1\nbackup 2\n}"));
      expect(v.parse(MessageSchema, await result({ cmd: "reload", file: asBackup }, narrowed)).message).toBe(`reloaded ${asBackup}: 1 server, 2 targets`);
      expect(narrowed.logLines.slice(backupMark).filter((line) => / sessions-removed /.test(line))).toEqual([]);
      clients.forEach((c, i) => expect(DaemonHarness.targetOf(narrowed.clientFrame(c, 80, TCP_ACK))).toBe(first[i]));
      const logMark = narrowed.logLines.length;
      const file = narrowed.writeConfig("only-1.conf", SEED_FAST_CHECKS_TEXT.replace("targets 1,2\n}", "targets 1\n}"));
      expect(v.parse(MessageSchema, await result({ cmd: "reload", file }, narrowed)).message).toBe(`reloaded ${file}: 1 server, 2 targets`);
      expect(narrowed.logLines.slice(logMark).filter((line) => / sessions-removed /.test(line))).toEqual([
        expect.stringContaining(`sessions=${onTarget2} why="target no longer listed by its server"`),
      ]);
      for (const c of clients) expect(DaemonHarness.targetOf(narrowed.clientFrame(c, 80, TCP_ACK))).toBe(1);
    } finally {
      await narrowed.stop();
    }
  });

  test("a VIP that a reload brings is announced with three gratuitous ARPs and answered; the VIPs there before are not announced again", async () => {
    const growing = new DaemonHarness();
    try {
      await growing.start(SEED_FAST_CHECKS_TEXT);
      const announcedFor = (vip: string, since: number) => growing.hostFrames.slice(since).filter((frame) => {
        const [op, sender, target] = arpFields(frame);
        return op === 1 && sender === vip && target === vip;
      });
      await growing.waitFor(() => announcedFor(VIP, 0).length >= 3, "the start's three announcements", 4000);
      const mark = growing.hostFrames.length;
      const second = "server 2 {\nipaddr 172.16.1.11\nport 80\nprotocol tcp\ntargets 1,2\n}\nregister server 2\nenable server 2\n";
      const file = growing.writeConfig("second-vip.conf", `${SEED_FAST_CHECKS_TEXT}${second}`);
      expect(v.parse(MessageSchema, await result({ cmd: "reload", file }, growing)).message).toBe(`reloaded ${file}: 2 servers, 2 targets`);
      await growing.waitFor(() => announcedFor("172.16.1.11", mark).length >= 3, "three gratuitous ARPs for the new VIP", 4000);
      await Bun.sleep(300);
      expect(announcedFor("172.16.1.11", mark)).toHaveLength(3);
      expect(announcedFor(VIP, mark)).toHaveLength(0);
      growing.io.inject(arpRequestFor("172.16.1.11"), { pktType: 1 });
      const answer = growing.pump();
      expect(answer.map(arpFields)).toEqual([[2, "172.16.1.11", "172.16.1.254"]]);
    } finally {
      await growing.stop();
    }
  }, 10_000);

  test("enable server refuses what bng run would refuse: a server whose DSR target is off bng's networks stays disabled", async () => {
    const offNetwork = new DaemonHarness();
    try {
      const second = "server 2 {\nipaddr 172.16.1.11\nport 80\nprotocol tcp\ntargets 3\n}\nregister server 2\n";
      const outside = "target 3 {\nipaddr 192.168.7.5\nport 80\nprotocol tcp\ndsr enable\n}\nregister target 3\nenable target 3\n";
      await offNetwork.start(`${SEED_FAST_CHECKS_TEXT}${second}${outside}`);
      const reply = await ask({ cmd: "enable", kind: "server", id: 2 }, offNetwork);
      expect(reply).toEqual({
        ok: false,
        error: "server 2 stays disabled: bng run would refuse the configuration with it enabled",
        errors: [
          "target 3 (192.168.7.5) of server 2 is a DSR target outside the networks bng runs on (172.16.1.0/24, the networks of the enabled servers' VIPs): " +
            "single-legged DSR reaches a target at layer 2 from the network's 'real' address; give target 3 an address inside one of them",
        ],
      });
      const servers = v.parse(v.array(v.object({ id: Id, enabled: v.boolean() })), await result({ cmd: "show", what: "servers" }, offNetwork));
      expect(servers.find((server) => server.id === 2)?.enabled).toBe(false);
      // The server that can run is still enabled and disabled as before.
      expect(v.parse(MessageSchema, await result({ cmd: "disable", kind: "server", id: 1 }, offNetwork)).message).toContain("server 1 disabled");
      expect(v.parse(MessageSchema, await result({ cmd: "enable", kind: "server", id: 1 }, offNetwork)).message).toContain("server 1 enabled");
    } finally {
      await offNetwork.stop();
    }
  });

  test("a reload that leaves out a start setting bng started with says its default waits for the next start", async () => {
    const small = new DaemonHarness();
    try {
      await small.start(`set sessions 1000\n${SEED_FAST_CHECKS_TEXT}`);
      const file = small.writeConfig("no-sessions.conf", SEED_FAST_CHECKS_TEXT);
      expect(v.parse(MessageSchema, await result({ cmd: "reload", file }, small)).message).toBe(
        `reloaded ${file}: 1 server, 2 targets; sessions 262144 (default): only at the next start (running: sessions 1000)`,
      );
    } finally {
      await small.stop();
    }
  });
});

describe("stop by the protocol", () => {
  const second = new DaemonHarness();
  afterAll(() => second.stop());

  test("the reply arrives, then the daemon stops; the socket then says bng is not running", async () => {
    await second.start(SEED_CONFIG_TEXT);
    const reply = await sendControlRequest(second.socket, { cmd: "stop" });
    expect(reply).toEqual({ ok: true, result: { message: `bng (pid ${process.pid}) is stopping` } });
    await second.daemon.stopped;
    await second.server.close();
    const after = await runCli(["status", "--socket", second.socket]);
    expect(after.code).toBe(1);
    expect(after.stderr).toContain("is bng running?");
  });
});

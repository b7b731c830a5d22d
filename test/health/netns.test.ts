// The real probes against real listeners: a monitor in a checker namespace, a target in
// another, joined by veth. Intervals 1 s, timeouts 3 s, so "down after T" means after 2-3 s
// from the change (the last success was at most I before it), checked with 1 s of slack.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { NamespaceFamily } from "../fixtures/namespaces.ts";
import { BUN, run, type RunningProcess } from "../fixtures/process.ts";
import { describeWith, ROOT } from "../fixtures/requirements.ts";

const I = 1;
const T = 3;
const REAL = "10.213.0.252";
const TARGET = "10.213.0.11";
const PORT = 8080;
const RUNNER = "test/health/monitor-runner.ts";

// Prints the peer address of every accepted connection, so the test sees the checks' source.
const LISTENER = `
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", ${PORT}))
s.listen(128)
print("listening", flush=True)
while True:
    c, peer = s.accept()
    print(peer[0], flush=True)
    c.close()
`;

/** The checker namespace (the monitor, interface vcheck) and the target's (vtarget), joined by veth. */
let family: NamespaceFamily;
const namespaces = { checker: "", target: "" };
const ensureOn = (ifname: string) => ({ ifname, prefixLen: 24 });
const addressOfChecker = () => run(["ip", "-n", namespaces.checker, "-4", "addr", "show", "dev", "vcheck"]);
let runner: RunningProcess;
let listener: RunningProcess | undefined;

/** `bun script args…` in namespace `ns`, its stdout collected by line. */
const bun = (ns: string, script: string, ...args: string[]) => family.spawn(ns, [BUN, script, ...args]);

interface EventLine {
  type: "event";
  wallMs: number;
  targetId: number;
  from: string;
  to: string;
  cause: string;
}

const isEvent = (targetId: number, to: string) => (line: string) => {
  const parsed = JSON.parse(line) as Partial<EventLine>;
  return parsed.type === "event" && parsed.targetId === targetId && parsed.to === to;
};

async function nextEvent(targetId: number, to: string, timeoutMs: number): Promise<EventLine> {
  const { line } = await runner.waitFor(isEvent(targetId, to), timeoutMs, runner.lines.length);
  return JSON.parse(line) as EventLine;
}

async function startListener(): Promise<number> {
  listener = family.spawn(namespaces.target, ["python3", "-c", LISTENER]);
  await listener.waitFor((line) => line === "listening", 5000);
  return Date.now();
}

async function stopListener(): Promise<number> {
  await listener?.stop();
  listener = undefined;
  return Date.now();
}

const ipNumber = (text: string) => text.split(".").reduce((value, part) => value * 256 + Number(part), 0);
const nft = (script: string) => run(["ip", "netns", "exec", namespaces.target, "nft", script]);

async function setUpLab(): Promise<void> {
  family = new NamespaceFamily("bngh");
  namespaces.checker = family.add("checker");
  namespaces.target = family.add("target");
  family.veth({ ns: namespaces.checker, ifname: "vcheck" }, { ns: namespaces.target, ifname: "vtarget" });
  run(["ip", "-n", namespaces.target, "addr", "add", `${TARGET}/24`, "dev", "vtarget"]);
  await startListener();
  const spec = {
    real: REAL,
    ensure: ensureOn("vcheck"),
    targets: [
      { id: 1, ipaddr: TARGET, port: PORT, tcpopen: [PORT, I, T] },
      { id: 2, ipaddr: TARGET, port: PORT, ping: [I, T] },
    ],
  };
  runner = bun(namespaces.checker, RUNNER, JSON.stringify(spec));
  await runner.waitFor((line) => line.includes('"type":"ready"'), 10_000);
}

describeWith([ROOT], "in network namespaces", () => {
  beforeAll(async () => {
    try {
      await setUpLab();
    } catch (error) {
      await family?.destroy();
      throw error;
    }
  });

  afterAll(async () => {
    await family?.destroy();
    expect(run(["ip", "netns", "list"])).not.toContain(namespaces.checker);
  });

  test("the real address was added to the checker's interface", () => {
    expect(JSON.parse(runner.lines[0]!)).toEqual({ type: "address", origin: "added", cidr: `${REAL}/24` });
    expect(addressOfChecker()).toContain(`${REAL}/24`);
  });

  test(
    "a listening port: up within I s of start, and every check came from the real address",
    async () => {
      const ready = JSON.parse(runner.lines.find((line) => line.includes('"type":"ready"'))!) as { wallMs: number };
      const { line } = await runner.waitFor(isEvent(1, "up"), 3000);
      const up = JSON.parse(line) as EventLine;
      expect(up.from).toBe("pending");
      expect(up.cause).toMatch(new RegExp(`^tcpopen ${PORT} connected in [0-9.]+ ms$`));
      expect(up.wallMs - ready.wallMs).toBeLessThanOrEqual(I * 1000 + 300);
      // The listener prints each peer from its own process: its line can trail the event.
      const peersOf = () => listener!.lines.filter((peer) => peer !== "listening");
      for (const deadline = Date.now() + 2000; peersOf().length === 0 && Date.now() < deadline; ) await Bun.sleep(20);
      const peers = peersOf();
      expect(peers.length).toBeGreaterThan(0);
      expect(new Set(peers)).toEqual(new Set([REAL]));
    },
    10_000,
  );

  test(
    "listener closed (refused): down T s after the last success",
    async () => {
      const closedAt = await stopListener();
      const down = await nextEvent(1, "down", (T + 2) * 1000);
      expect(down.cause).toBe(`tcpopen ${PORT} refused for ${T} s`);
      expect(down.wallMs - closedAt).toBeGreaterThanOrEqual((T - I) * 1000 - 1000);
      expect(down.wallMs - closedAt).toBeLessThanOrEqual(T * 1000 + 1000);
    },
    15_000,
  );

  test(
    "listener back: up within I s",
    async () => {
      const startedAt = await startListener();
      const up = await nextEvent(1, "up", (I + 2) * 1000);
      expect(up.wallMs - startedAt).toBeLessThanOrEqual(I * 1000 + 300);
    },
    15_000,
  );

  test(
    "SYNs silently dropped: down T s after the last success, by timeout; rule removed: up within I s",
    async () => {
      nft(`add table inet bngh; add chain inet bngh input { type filter hook input priority 0; }; add rule inet bngh input tcp dport ${PORT} drop`);
      const droppedAt = Date.now();
      const down = await nextEvent(1, "down", (T + 2) * 1000);
      expect(down.cause).toBe(`tcpopen ${PORT} timeout for ${T} s`);
      expect(down.wallMs - droppedAt).toBeGreaterThanOrEqual((T - I) * 1000 - 1000);
      expect(down.wallMs - droppedAt).toBeLessThanOrEqual(T * 1000 + 1000);
      nft("delete table inet bngh");
      const restoredAt = Date.now();
      const up = await nextEvent(1, "up", (I + 2) * 1000);
      expect(up.wallMs - restoredAt).toBeLessThanOrEqual(I * 1000 + 300);
    },
    20_000,
  );

  test(
    "ping: up while the target answers; its address removed -> down after T s; restored -> up",
    async () => {
      const pingUp = runner.lines.map((line) => JSON.parse(line) as Partial<EventLine>).find((line) => line.type === "event" && line.targetId === 2);
      expect(pingUp).toMatchObject({ from: "pending", to: "up" });
      expect(pingUp?.cause).toMatch(/^ping reply in [0-9.]+ ms$/);
      run(["ip", "-n", namespaces.target, "addr", "del", `${TARGET}/24`, "dev", "vtarget"]);
      const removedAt = Date.now();
      const down = await nextEvent(2, "down", (T + 2) * 1000);
      expect(down.cause).toMatch(new RegExp(`^ping (timeout|host unreachable.*) for ${T} s$`));
      expect(down.wallMs - removedAt).toBeGreaterThanOrEqual((T - I) * 1000 - 1000);
      expect(down.wallMs - removedAt).toBeLessThanOrEqual(T * 1000 + 1000);
      run(["ip", "-n", namespaces.target, "addr", "add", `${TARGET}/24`, "dev", "vtarget"]);
      const restoredAt = Date.now();
      const up = await nextEvent(2, "up", (I + 3) * 1000);
      expect(up.wallMs - restoredAt).toBeLessThanOrEqual(I * 1000 + 500);
    },
    20_000,
  );

  test(
    "the real address: a second bng finding it present leaves it; the one that added it removes it on exit",
    async () => {
      const second = bun(namespaces.checker, RUNNER, JSON.stringify({ real: REAL, ensure: ensureOn("vcheck"), targets: [] }));
      await second.waitFor((line) => line.includes('"type":"ready"'), 10_000);
      expect(JSON.parse(second.lines[0]!)).toEqual({ type: "address", origin: "present", cidr: `${REAL}/24` });
      await second.stop();
      expect(addressOfChecker()).toContain(`${REAL}/24`);
      await runner.stop();
      expect(runner.lines.at(-1)).toBe('{"type":"stopped"}');
      expect(addressOfChecker()).not.toContain(REAL);
    },
    20_000,
  );

  test(
    "a failure to add the real address names the command to run",
    async () => {
      const failing = bun(namespaces.checker, RUNNER, JSON.stringify({ real: REAL, ensure: ensureOn("bnghnosuch0"), targets: [] }));
      expect(await failing.exited).toBe(2);
      expect(JSON.parse(failing.lines[0]!)).toEqual({
        type: "address-error",
        message: `cannot add ${REAL}/24 to bnghnosuch0: Device "bnghnosuch0" does not exist. — check the interface name, then run: ip addr add ${REAL}/24 dev bnghnosuch0`,
      });
    },
    10_000,
  );

  test(
    "ICMP echo through both socket kinds: raw when ping_group_range excludes us, datagram when it allows",
    async () => {
      const echo = async () => {
        const child = bun(namespaces.checker, "test/health/echo-once.ts", REAL, TARGET);
        await child.exited;
        return JSON.parse(child.lines[0] ?? "null") as unknown;
      };
      const target = ipNumber(TARGET);
      run(["ip", "-n", namespaces.checker, "addr", "replace", `${REAL}/24`, "dev", "vcheck"]);
      run(["ip", "netns", "exec", namespaces.checker, "sysctl", "-q", "-w", "net.ipv4.ping_group_range=1 0"]);
      expect(await echo()).toEqual({ kind: "raw", sendErrno: 0, messages: [{ kind: "reply", from: target, sequence: 4242 }] });
      run(["ip", "netns", "exec", namespaces.checker, "sysctl", "-q", "-w", "net.ipv4.ping_group_range=0 2147483647"]);
      expect(await echo()).toEqual({ kind: "datagram", sendErrno: 0, messages: [{ kind: "reply", from: target, sequence: 4242 }] });
    },
    10_000,
  );
});

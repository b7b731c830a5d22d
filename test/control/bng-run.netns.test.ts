// What only a real `bng run` process shows about its control socket and signals, in a network
// namespace of its own (a lone eth0: a dummy, or a veth whose peer stays in it; nothing else on the wire): the socket's modes and who may
// connect, a second run on a live socket refused, SIGHUP reloads (or refuses a broken file),
// SIGTERM stops within a second with exit code 0 and removes the address bng added.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { StatusReport } from "../../src/control/status.ts";
import { sendControlRequest } from "../../src/control/socket-client.ts";
import { withEngine, withThirdTarget } from "../e2e/bng.ts";
import { run, runCommandSync } from "../fixtures/process.ts";
import { describeWith, ROOT } from "../fixtures/requirements.ts";
import { BngProcess, DummyNamespace, runCli, SEED_CONFIG_TEXT, TestUser } from "./harness.ts";

/** The seed's configuration for the engine under test. */
const SEED = withEngine(SEED_CONFIG_TEXT);

describeWith([ROOT], "bng run as a process, in a namespace of its own with a lone eth0", () => {
  let namespace: DummyNamespace | undefined;
  let bng: BngProcess | undefined;
  let dir = "";
  let socket = "";
  let config = "";
  let pid = 0;

  async function status(): Promise<StatusReport> {
    const reply = await sendControlRequest(socket, { cmd: "status" });
    if (!reply.ok) throw new Error(reply.error);
    return reply.result as StatusReport;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "bng-run-"));
    // Traversable by anyone, so the only barriers left are the ones bng makes itself.
    chmodSync(dir, 0o755);
    socket = join(dir, "run", "bng.sock");
    config = join(dir, "bng.conf");
    writeFileSync(config, SEED);
    namespace = new DummyNamespace();
    bng = new BngProcess(namespace, ["run", config, "--socket", socket]);
    await bng.waitFor(/ ready /);
  }, 20_000);

  afterAll(async () => {
    await bng?.stop();
    namespace?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 10_000);

  test("starts: adds its real address, answers on a 0600 socket in a 0700 directory", async () => {
    expect(namespace!.addresses()).toContain("172.16.1.252/24");
    expect(bng!.lines.some((line) => /address-added .*172\.16\.1\.252\/24/.test(line))).toBe(true);
    expect(statSync(socket).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(socket)).mode & 0o777).toBe(0o700);
    const report = await status();
    expect(report.pid).not.toBe(process.pid);
    pid = report.pid;
    expect(report.interface).toBe("eth0");
    expect(report.config).toBe(config);
    const cli = await runCli(["status", "--json", "--socket", socket]);
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout).pid).toBe(report.pid);
  });

  test("a second bng run on the live socket refuses with a clear message and leaves the first alone", async () => {
    const second = new BngProcess(namespace!, ["run", config, "--socket", socket]);
    try {
      expect(await second.exited).toBe(1);
      await second.waitFor(/control-socket-failed/, 1000);
      expect(second.lines.join("\n")).toContain(`another bng is already running on ${socket}`);
    } finally {
      await second.stop();
    }
    expect((await status()).pid).toBe(pid);
    expect(namespace!.addresses()).toContain("172.16.1.252/24");
    expect(bng!.exitCode).toBeNull();
  }, 15_000);

  test("a second bng run on the same interface, with a socket of its own, refuses before changing anything", async () => {
    const tablesBefore = namespace!.exec(["nft", "list", "tables"]);
    expect(tablesBefore).toContain("netdev bng_eth0");
    const otherSocket = join(dir, "other", "bng.sock");
    const second = new BngProcess(namespace!, ["run", config, "--socket", otherSocket]);
    try {
      expect(await second.exited).toBe(1);
      const output = second.lines.join("\n");
      expect(output).toMatch(/start-failed reason="another bng is already running on eth0 in this network namespace; stop it first/);
      expect(output).not.toMatch(/address-|vip-filter|vip-announced/);
      expect(existsSync(otherSocket)).toBe(false);
    } finally {
      await second.stop();
    }
    // The first one's setup is whole: its table, its address, its socket and process.
    expect(namespace!.exec(["nft", "list", "tables"])).toBe(tablesBefore);
    expect(namespace!.addresses()).toContain("172.16.1.252/24");
    expect((await status()).pid).toBe(pid);
    expect(bng!.exitCode).toBeNull();
  }, 15_000);

  test("a user other than root is refused (EACCES), even when the directory is opened up; root is still answered", async () => {
    const user = new TestUser();
    try {
      // Bun reports a refused unix connect as ENOENT; node says what the kernel said.
      const connect = `require("node:net").connect(${JSON.stringify(socket)}).on("connect", () => { console.log("connected"); process.exit(0); }).on("error", (e) => console.log(e.code));`;
      const attempt = async () => (await user.run(["node", "-e", connect])).stdout.trim();
      expect(await attempt()).toBe("EACCES");
      const cli = await user.run([...user.cli(), "status", "--socket", socket]);
      expect(cli.exitCode).toBe(1);
      expect(cli.stderr).toContain("permission denied: the control socket is for root only");
      // The directory alone is not the only guard: the socket itself is 0600.
      chmodSync(dirname(socket), 0o755);
      try {
        expect(await attempt()).toBe("EACCES");
      } finally {
        chmodSync(dirname(socket), 0o700);
      }
      expect((await sendControlRequest(socket, { cmd: "status" })).ok).toBe(true);
    } finally {
      user.remove();
    }
    expect(runCommandSync(["id", user.name], { allowFailure: true }).exitCode).not.toBe(0);
  }, 15_000);

  test("SIGHUP reloads the file bng was started with; a broken file is refused with its errors and nothing changes", async () => {
    writeFileSync(config, withThirdTarget(SEED));
    let mark = bng!.lines.length;
    bng!.signal("SIGHUP");
    await bng!.waitFor(/ reloaded .*targets=3/, 5000, mark);
    expect((await status()).targets.map((t) => t.id)).toEqual([1, 2, 3]);

    writeFileSync(config, withThirdTarget(SEED).replace("protocol tcp\ntargets", "protocol tcpp\ntargets").replace("ipaddr 172.16.1.102", "ipaddr 172.16.1.302"));
    mark = bng!.lines.length;
    bng!.signal("SIGHUP");
    await bng!.waitFor(/ reload-refused .*errors=2/, 5000, mark);
    // Every diagnostic follows as a log line of its own, with file:line:column.
    await bng!.waitFor(/ warn  config-error error=".*:\d+:\d+: error: .*tcpp/, 2000, mark);
    await bng!.waitFor(/ warn  config-error error=".*:\d+:\d+: error: .*172\.16\.1\.302/, 2000, mark);
    const logLine = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (info|warn|error) +[a-z-]+( |$)/;
    expect(bng!.lines.slice(mark).filter((line) => !logLine.test(line))).toEqual([]);
    const after = await status();
    expect(after.targets.map((t) => [t.id, t.ipaddr])).toEqual([[1, "172.16.1.100"], [2, "172.16.1.101"], [3, "172.16.1.102"]]);
    expect(after.servers[0]!.protocol).toBe("tcp");
    expect(bng!.exitCode).toBeNull();
  }, 15_000);

  test("without nft the kernel keeps its copy of VIP frames: bng says so once (and that forwarding is on) and runs as usual", async () => {
    // A PATH with the tools bng needs but not nft (ip netns exec itself is found by its full path).
    const tools = mkdtempSync(join(tmpdir(), "bng-tools-"));
    const own = new DummyNamespace();
    let lone: BngProcess | undefined;
    try {
      for (const tool of ["ip", "ethtool"]) symlinkSync(Bun.which(tool)!, join(tools, tool));
      const loneSocket = join(tools, "bng.sock");
      const loneConfig = join(tools, "bng.conf");
      writeFileSync(loneConfig, SEED);
      // With forwarding on, the kernel would route that copy too: worth a warning now.
      run(["ip", "netns", "exec", own.name, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/conf/eth0/forwarding"]);
      lone = new BngProcess(own, ["run", loneConfig, "--socket", loneSocket], { PATH: tools });
      await lone.waitFor(/ ready /);
      const unavailable = lone.lines.filter((line) => / vip-filter-unavailable /.test(line));
      expect(unavailable).toHaveLength(1);
      expect(unavailable[0]).toMatch(/interface=eth0 error=.*nft.* effect=/);
      expect(lone.lines.some((line) => / vip-filter interface/.test(line))).toBe(false);
      expect(lone.lines.filter((line) => / ip-forwarding-on interface=eth0 .*second copy/.test(line))).toHaveLength(1);
      expect((await sendControlRequest(loneSocket, { cmd: "status" })).ok).toBe(true);
      lone.signal("SIGTERM");
      expect(await lone.exited).toBe(0);
      expect(lone.lines.some((line) => / vip-filter-remove-failed /.test(line))).toBe(false);
    } finally {
      await lone?.stop();
      own.remove();
      rmSync(tools, { recursive: true, force: true });
    }
  }, 20_000);

  test("SIGTERM: exit code 0 within a second, the added address removed, the socket gone", async () => {
    const mark = bng!.lines.length;
    const sent = performance.now();
    bng!.signal("SIGTERM");
    const code = await bng!.exited;
    const ms = performance.now() - sent;
    console.log(`SIGTERM to exit: ${ms.toFixed(0)} ms`);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(1000);
    const log = bng!.lines.slice(mark).join("\n");
    expect(log).toMatch(/ stopping reason="SIGTERM received"/);
    expect(log).toMatch(/ address-removed .*172\.16\.1\.252\/24/);
    expect(log).toMatch(/ stopped /);
    expect(namespace!.addresses()).not.toContain("172.16.1.252/24");
    expect(existsSync(socket)).toBe(false);
    const cli = await runCli(["status", "--socket", socket]);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain("is bng running?");
  }, 10_000);

  test("SIGINT (Ctrl-C at a terminal) stops a bng the same way, and the interface is free for it after the first one's exit", async () => {
    const again = join(dir, "again.conf");
    writeFileSync(again, SEED);
    const second = new BngProcess(namespace!, ["run", again, "--socket", socket]);
    try {
      await second.waitFor(/ ready /, 10_000);
      expect(namespace!.addresses()).toContain("172.16.1.252/24");
      second.signal("SIGINT");
      expect(await second.exited).toBe(0);
      const log = second.lines.join("\n");
      expect(log).toMatch(/ stopping reason="SIGINT received"/);
      expect(log).toMatch(/ stopped /);
      expect(namespace!.addresses()).not.toContain("172.16.1.252/24");
      expect(existsSync(socket)).toBe(false);
    } finally {
      await second.stop();
    }
  }, 15_000);
});

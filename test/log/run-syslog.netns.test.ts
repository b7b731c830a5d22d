// A real `bng run` process logging to syslog: with --syslog, and with `set syslog enable` in its
// configuration, its lines reach a receiver bound where /dev/log would be (BNG_SYSLOG_SOCKET),
// and stderr keeps none of them; a reload to `set syslog disable` brings them back to stderr.
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sendControlRequest } from "../../src/control/socket-client.ts";
import { BngProcess, DummyNamespace, SEED_CONFIG_TEXT } from "../control/harness.ts";
import { describeWith, ROOT } from "../fixtures/requirements.ts";
import { SyslogReceiver } from "./syslog-receiver.ts";

describeWith([ROOT], "bng run logging to syslog", () => {
  let dir = "";
  let namespace: DummyNamespace | undefined;
  const running: (BngProcess | SyslogReceiver)[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "bng-run-syslog-"));
    namespace = new DummyNamespace();
  });
  afterEach(async () => {
    for (const process of running.splice(0)) await process.stop();
  });
  afterAll(() => {
    namespace?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(name: string, args: string[], configText: string) {
    const syslogPath = join(dir, `${name}.log-socket`);
    const syslog = await new SyslogReceiver(syslogPath).bound();
    running.push(syslog);
    const config = join(dir, `${name}.conf`);
    writeFileSync(config, configText);
    const socket = join(dir, `${name}.sock`);
    const bng = new BngProcess(namespace!, ["run", config, "--socket", socket, ...args], { ...(process.env as Record<string, string>), BNG_SYSLOG_SOCKET: syslogPath });
    running.push(bng);
    return { syslog, bng, config, socket };
  }

  test("--syslog: the daemon's lines go to syslog as RFC 5424 messages, not to stderr", async () => {
    const { syslog, bng } = await start("flag", ["--syslog"], SEED_CONFIG_TEXT);
    const ready = await syslog.waitFor(/ ready - ready socket=/, 15_000);
    expect(ready.line).toMatch(/^<30>1 \S+Z \S+ bng \d+ ready - ready socket=/);
    expect(syslog.messages.some((message) => /^<30>1 .* started - started config=/.test(message))).toBe(true);
    await bng.stop();
    await syslog.waitFor(/ stopped - stopped uptime_s=/);
    expect(bng.lines.filter((line) => / (started|ready|stopped) /.test(line))).toEqual([]);
  }, 30_000);

  test("set syslog enable: syslog from the start; a reload to disable returns the lines to stderr", async () => {
    const { syslog, bng, config, socket } = await start("setting", [], `set syslog enable\n${SEED_CONFIG_TEXT}`);
    await syslog.waitFor(/ ready - ready socket=/, 15_000);
    expect(bng.lines.filter((line) => / (started|ready) /.test(line))).toEqual([]);
    writeFileSync(config, `set syslog disable\n${SEED_CONFIG_TEXT}`);
    const reply = await sendControlRequest(socket, { cmd: "reload" });
    expect(reply.ok).toBe(true);
    await bng.waitFor(/ info  reloaded config=/, 5000);
    expect(syslog.messages.some((message) => message.includes(" reloaded "))).toBe(false);
  }, 30_000);

  test("no syslog socket: one warning on stderr, then the lines on stderr as ever", async () => {
    const config = join(dir, "absent.conf");
    writeFileSync(config, SEED_CONFIG_TEXT);
    const bng = new BngProcess(namespace!, ["run", config, "--socket", join(dir, "absent.sock"), "--syslog"], { ...(process.env as Record<string, string>), BNG_SYSLOG_SOCKET: join(dir, "nothing-here") });
    running.push(bng);
    await bng.waitFor(/ ready socket=/, 15_000);
    expect(bng.lines.filter((line) => line.includes("syslog-unavailable"))).toEqual([
      expect.stringMatching(new RegExp(`warn  syslog-unavailable socket=${join(dir, "nothing-here")} error=ENOENT effect="logging to stderr"$`)),
    ]);
    expect(bng.lines.some((line) => / info  started /.test(line))).toBe(true);
  }, 30_000);
});

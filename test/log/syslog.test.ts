// The syslog output: RFC 5424 messages, exact, sent through the FFI unix datagram socket to a
// real receiver bound by python3; the fallback to stderr with one warning when the socket is
// absent or refuses, and the way back when the receiver returns.
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { connectUnixDatagram } from "../../ffi/unix-datagram.ts";
import { LogOutput } from "../../src/log/output.ts";
import { formatSyslogMessage, MAX_SYSLOG_BYTES } from "../../src/log/syslog.ts";
import { SyslogReceiver } from "./syslog-receiver.ts";

const dir = mkdtempSync(join(tmpdir(), "bng-syslog-"));
const receivers: SyslogReceiver[] = [];
const TIME = new Date("2026-12-01T10:20:30.456Z");
const origin = { hostname: "lb1", appName: "bng", procId: 4242 };
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

async function receiver(path: string): Promise<SyslogReceiver> {
  const started = new SyslogReceiver(path);
  receivers.push(started);
  return started.bound();
}

afterEach(async () => {
  for (const started of receivers.splice(0)) await started.stop();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("RFC 5424 messages", () => {
  test("facility daemon, the level's severity, the event as MSGID and at the start of MSG", () => {
    expect(text(formatSyslogMessage(origin, TIME, "warn", "target-down", { target: 1, address: "172.16.1.100:80", cause: "tcpopen 80 refused" }))).toBe(
      '<28>1 2026-12-01T10:20:30.456Z lb1 bng 4242 target-down - target-down target=1 address=172.16.1.100:80 cause="tcpopen 80 refused"',
    );
    expect(text(formatSyslogMessage(origin, TIME, "error", "start-failed"))).toStartWith("<27>1 ");
    expect(text(formatSyslogMessage(origin, TIME, "info", "ready"))).toStartWith("<30>1 ");
    expect(text(formatSyslogMessage(origin, TIME, "debug", "x"))).toStartWith("<31>1 ");
  });

  test("header fields are printable ASCII, never empty; UTF-8 text gets the BOM; long messages are cut on a character", () => {
    const odd = { hostname: "", appName: "b n g", procId: 1 };
    expect(text(formatSyslogMessage(odd, TIME, "info", "e".repeat(40)))).toStartWith(`<30>1 2026-12-01T10:20:30.456Z - bng 1 ${"e".repeat(32)} - ${"e".repeat(40)}`);
    expect(text(formatSyslogMessage(origin, TIME, "info", "reloaded", { config: "/etc/bng-é.conf" }))).toBe(
      "<30>1 2026-12-01T10:20:30.456Z lb1 bng 4242 reloaded - \ufeffreloaded config=/etc/bng-é.conf",
    );
    const long = formatSyslogMessage(origin, TIME, "info", "x", { text: "é".repeat(2000) });
    expect(long.length).toBeLessThanOrEqual(MAX_SYSLOG_BYTES);
    expect(long.length).toBeGreaterThan(MAX_SYSLOG_BYTES - 2);
    expect(text(long)).not.toContain("\ufffd");
  });
});

describe("the log output", () => {
  test("--syslog: every record reaches the syslog socket, nothing goes to stderr", async () => {
    const path = join(dir, "log-forced");
    const syslog = await receiver(path);
    const stderr: string[] = [];
    const output = new LogOutput((line) => stderr.push(line));
    output.configure({ connect: connectUnixDatagram, path, forced: true });
    output.write(TIME, "info", "started", { config: "/etc/bng.conf" });
    output.write(TIME, "warn", "target-down", { target: 2 });
    await syslog.waitFor(/target-down target=2$/);
    expect(syslog.messages).toEqual([
      `<30>1 2026-12-01T10:20:30.456Z ${hostname()} bng ${process.pid} started - started config=/etc/bng.conf`,
      `<28>1 2026-12-01T10:20:30.456Z ${hostname()} bng ${process.pid} target-down - target-down target=2`,
    ]);
    expect(stderr).toEqual([]);
  });

  test("set syslog: follows the setting on and off; without --syslog or the setting, stderr", async () => {
    const path = join(dir, "log-setting");
    const syslog = await receiver(path);
    const stderr: string[] = [];
    const output = new LogOutput((line) => stderr.push(line));
    output.configure({ connect: connectUnixDatagram, path, forced: false });
    output.write(TIME, "info", "one");
    output.followSetting(true);
    output.write(TIME, "info", "two");
    output.followSetting(false);
    output.write(TIME, "info", "three");
    await syslog.waitFor(/ two$/);
    expect(stderr).toEqual(["2026-12-01T10:20:30.456Z info  one", "2026-12-01T10:20:30.456Z info  three"]);
    expect(syslog.messages.length).toBe(1);
  });

  test("no socket at the path: one warning, then every record on stderr", () => {
    const stderr: string[] = [];
    const output = new LogOutput((line) => stderr.push(line));
    output.configure({ connect: connectUnixDatagram, path: join(dir, "absent"), forced: true });
    output.write(TIME, "info", "one");
    output.write(TIME, "info", "two");
    expect(stderr.length).toBe(3);
    expect(stderr[0]).toMatch(new RegExp(`warn  syslog-unavailable socket=${join(dir, "absent")} error=ENOENT effect="logging to stderr"$`));
    expect(stderr.slice(1)).toEqual(["2026-12-01T10:20:30.456Z info  one", "2026-12-01T10:20:30.456Z info  two"]);
  });

  test("a receiver that goes away: its lines go to stderr after one warning; a new one gets the next lines", async () => {
    const path = join(dir, "log-restart");
    const first = await receiver(path);
    const stderr: string[] = [];
    const output = new LogOutput((line) => stderr.push(line));
    output.configure({ connect: connectUnixDatagram, path, forced: true });
    output.write(TIME, "info", "before");
    await first.waitFor(/ before$/);
    await first.stop();
    // The socket file stays; nobody reads it: ECONNREFUSED.
    output.write(TIME, "info", "while-down-1");
    output.write(TIME, "info", "while-down-2");
    expect(stderr.length).toBe(3);
    expect(stderr[0]).toMatch(/warn  syslog-send-failed socket=\S+ error=ECONNREFUSED /);
    expect(stderr.slice(1)).toEqual(["2026-12-01T10:20:30.456Z info  while-down-1", "2026-12-01T10:20:30.456Z info  while-down-2"]);
    rmSync(path);
    const second = await receiver(path);
    output.write(TIME, "info", "after");
    await second.waitFor(/ after$/);
    expect(stderr.length).toBe(3);
  });
});

// The command line's arguments: more than a command takes is a usage error (exit 2), not silently
// dropped; what it sends to the daemon is what the operator meant (a reload path from the
// operator's directory, a checked client address).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { ControlRequest } from "../../src/control/protocol.ts";
import { startControlServer, type ControlServer } from "../../src/control/socket-server.ts";
import { runCli } from "./harness.ts";

const dir = mkdtempSync(join(tmpdir(), "bng-cli-"));
const socket = join(dir, "run", "bng.sock");
const received: ControlRequest[] = [];
let server: ControlServer;

beforeAll(async () => {
  server = await startControlServer(socket, async (request) => {
    received.push(request);
    if (request.cmd === "show") return { ok: true, result: { total: 0, sessions: [] } };
    return { ok: true, result: { message: `did ${request.cmd}` } };
  });
});

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("bng's arguments", () => {
  test.each([
    [["check", "config/dsr-example.conf", "config/annotated.conf"], "'check' takes at most 1 argument; unexpected 'config/annotated.conf'"],
    [["print", "a.conf", "b.conf"], "'print' takes at most 1 argument; unexpected 'b.conf'"],
    [["check", "a.conf", "--server", "1"], "'check' does not take --server"],
    [["run", "a.conf", "b.conf"], "'run' takes at most 1 argument; unexpected 'b.conf'"],
    [["-c", "a.conf", "check", "b.conf"], "name the file once: 'b.conf' or -c 'a.conf'"],
    [["status", "extra"], "'status' takes no arguments; unexpected 'extra'"],
    [["show", "targets", "extra"], "'show' takes at most 1 argument; unexpected 'extra'"],
    [["disable", "target", "1", "2"], "'disable' takes at most 2 arguments; unexpected '2'"],
    [["reload", "a.conf", "b.conf"], "'reload' takes at most 1 argument; unexpected 'b.conf'"],
    [["stop", "now"], "'stop' takes no arguments; unexpected 'now'"],
    [["metrics", "all"], "'metrics' takes no arguments; unexpected 'all'"],
    [["show", "sessions", "--client", "1.2.3"], "--client must be an IPv4 address such as 198.51.100.7, not '1.2.3'"],
    [["-c", "a.conf", "status"], "'status' does not take -c/--config"],
    [["stop", "--json"], "'stop' does not take --json"],
    [["disable", "target", "1", "--limit", "3"], "'disable' does not take --limit"],
    [["show", "targets", "--server", "1"], "--server is for 'show sessions', not 'show targets'"],
    [["-c", "a.conf", "reload", "b.conf"], "name the file once: 'b.conf' or -c 'a.conf'"],
  ])("bng %j is a usage error that reaches no daemon", async (argv, message) => {
    const before = received.length;
    // Commands that talk to a daemon get the test's socket, so a request that got through would be seen.
    const local = argv.some((word) => word === "check" || word === "print" || word === "run");
    const result = await runCli(local ? argv : [...argv, "--socket", socket]);
    expect(result).toEqual({ code: 2, stdout: "", stderr: `${message}\n` });
    expect(received.length).toBe(before);
  });

  test("reload sends a relative file as the absolute path from the operator's directory", async () => {
    const result = await runCli(["reload", "conf/next.conf", "--socket", socket]);
    expect(result).toEqual({ code: 0, stdout: "did reload\n", stderr: "" });
    expect(received.at(-1)).toEqual({ cmd: "reload", file: resolve("conf/next.conf") });
    expect(resolve("conf/next.conf")).toStartWith("/");
    // BalanceNG's habit: the file named with -c.
    await runCli(["-c", "conf/other.conf", "reload", "--socket", socket]);
    expect(received.at(-1)).toEqual({ cmd: "reload", file: resolve("conf/other.conf") });
    await runCli(["reload", "--socket", socket]);
    expect(received.at(-1)).toEqual({ cmd: "reload" });
  });

  test("BNG_SOCKET names the socket when --socket does not", async () => {
    const saved = process.env.BNG_SOCKET;
    process.env.BNG_SOCKET = socket;
    try {
      const before = received.length;
      expect(await runCli(["stop"])).toEqual({ code: 0, stdout: "did stop\n", stderr: "" });
      expect(received.slice(before)).toEqual([{ cmd: "stop" }]);
      expect((await runCli(["stop", "--socket", join(dir, "none.sock")])).code).toBe(1);
    } finally {
      if (saved === undefined) delete process.env.BNG_SOCKET;
      else process.env.BNG_SOCKET = saved;
    }
  });

  test("a well-formed client address is passed on as written", async () => {
    const result = await runCli(["show", "sessions", "--client", "198.51.100.7", "--socket", socket]);
    expect(result.code).toBe(0);
    expect(received.at(-1)).toEqual({ cmd: "show", what: "sessions", client: "198.51.100.7" });
  });
});

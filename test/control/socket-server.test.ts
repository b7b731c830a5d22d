// The control socket against hostile and careless clients: every bad request gets an error
// reply or a close, and the server keeps answering.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MAX_REQUEST_BYTES, type ControlReply } from "../../src/control/protocol.ts";
import { sendControlRequest } from "../../src/control/socket-client.ts";
import { MAX_CLIENTS, SocketInUseError, startControlServer, type ControlServer } from "../../src/control/socket-server.ts";
import { UnsafeDirectoryError } from "../../src/host/private-files.ts";
import { startProcess } from "../fixtures/process.ts";

const dir = mkdtempSync(join(tmpdir(), "bng-sock-"));
const path = join(dir, "run", "bng.sock");
let server: ControlServer;
let handled = 0;

beforeAll(async () => {
  server = await startControlServer(path, async (request) => {
    handled++;
    return { ok: true, result: { echo: request.cmd } };
  });
});

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Sends raw bytes and collects reply lines until `expected` replies arrived, the server
 * closed its side, or `waitMs` passed.
 */
function exchange(payload: string | Uint8Array, expected = 1, waitMs = 3000): Promise<{ replies: ControlReply[]; closed: boolean }> {
  return new Promise((resolve) => {
    const socket: Socket = connect(path);
    let data = "";
    let closed = false;
    let done = false;
    const lines = () => data.split("\n").filter((line) => line.trim() !== "");
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ replies: lines().map((line) => JSON.parse(line) as ControlReply), closed });
    };
    const timer = setTimeout(finish, waitMs);
    socket.on("data", (chunk: Buffer) => {
      data += chunk.toString();
      if (data.endsWith("\n") && lines().length >= expected) finish();
    });
    const onClosed = () => {
      closed = true;
      finish();
    };
    socket.on("end", onClosed);
    socket.on("close", onClosed);
    socket.on("error", () => {});
    socket.on("connect", () => socket.write(payload));
  });
}

describe("control socket", () => {
  test("is created 0600 in a 0700 directory", () => {
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "run")).mode & 0o777).toBe(0o700);
  });

  test("answers a well-formed request", async () => {
    const reply = await sendControlRequest(path, { cmd: "status" });
    expect(reply).toEqual({ ok: true, result: { echo: "status" } });
  });

  test("invalid JSON, unknown commands and wrong types get error replies", async () => {
    const cases: [string, RegExp][] = [
      ["{not json\n", /not valid JSON/],
      ['{"cmd":"explode"}\n', /invalid request/],
      ['{"cmd":"enable","kind":"target","id":"one"}\n', /invalid request: id/],
      ['{"cmd":"show","what":"sessions","limit":-3}\n', /invalid request: limit/],
      ['{"cmd":"status","extra":1}\n', /invalid request/],
      ["[1,2,3]\n", /invalid request/],
      ["null\n", /invalid request/],
    ];
    for (const [payload, message] of cases) {
      const { replies } = await exchange(payload);
      expect(replies.length).toBe(1);
      expect(replies[0]!.ok).toBe(false);
      expect(replies[0]!.ok === false && replies[0]!.error).toMatch(message);
    }
  });

  test("several requests on one connection are answered in order", async () => {
    const { replies } = await exchange('{"cmd":"status"}\n{"cmd":"bogus"}\n{"cmd":"stop"}\n', 3);
    expect(replies.map((reply) => reply.ok)).toEqual([true, false, true]);
  });

  test("a 2 MB line is refused and the connection closed", async () => {
    const { replies, closed } = await exchange("x".repeat(2 * 1024 * 1024), 2);
    expect(closed).toBe(true);
    expect(replies[0]).toEqual({ ok: false, error: `request longer than ${MAX_REQUEST_BYTES} bytes; closing` });
  });

  test("a line over the limit is refused even when it arrives whole, newline included, and counts bytes", async () => {
    const ascii = await exchange(`{"cmd":"status","x":"${"a".repeat(70 * 1024)}"}\n`, 2);
    expect(ascii.replies[0]).toEqual({ ok: false, error: `request longer than ${MAX_REQUEST_BYTES} bytes; closing` });
    // 40,000 two-byte characters: 80,000 bytes, though only 40,000 characters.
    const wide = await exchange(`{"cmd":"status","x":"${"é".repeat(40_000)}"}\n`, 2);
    expect(wide.replies[0]).toEqual({ ok: false, error: `request longer than ${MAX_REQUEST_BYTES} bytes; closing` });
  });

  test("1,000 malformed requests: each answered or closed, the server keeps answering, memory bounded", async () => {
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 1000; i++) {
      const kind = i % 4;
      let payload: string | Uint8Array;
      if (kind === 0) {
        // Random bytes without a newline, then one: at least one reply (or a close) must follow.
        const bytes = Uint8Array.from({ length: 1 + Math.floor(random() * 300) }, () => 32 + Math.floor(random() * 224));
        payload = new Uint8Array([...bytes, 10]);
      } else if (kind === 1) payload = `{"cmd":${JSON.stringify(String(random()))}}\n`;
      else if (kind === 2) payload = `{"cmd":"show","what":"${random() > 0.5 ? "sessions" : "nonsense"}","limit":${random() > 0.5 ? "1e9" : '"x"'}}\n`;
      else payload = "{".repeat(1 + Math.floor(random() * 50)) + "\n";
      const { replies, closed } = await exchange(payload);
      expect(replies.length > 0 || closed).toBe(true);
      for (const reply of replies) expect(reply.ok).toBe(false);
    }
    const reply = await sendControlRequest(path, { cmd: "status" });
    expect(reply.ok).toBe(true);
    Bun.gc(true);
    const growthMiB = (process.memoryUsage().rss - before) / 2 ** 20;
    console.log(`rss growth after 1000 malformed requests: ${growthMiB.toFixed(1)} MiB`);
    expect(growthMiB).toBeLessThan(64);
  }, 60_000);

  test("a client that connects and never sends is disconnected, others are served meanwhile", async () => {
    const quickPath = join(dir, "quick.sock");
    const quick = await startControlServer(quickPath, async () => ({ ok: true, result: "served" }), 300);
    try {
      const silent = connect(quickPath);
      const closedAfter = new Promise<number>((resolve) => {
        const started = Date.now();
        let data = "";
        silent.on("data", (chunk: Buffer) => (data += chunk.toString()));
        silent.on("end", () => resolve(data.includes("nothing received for") ? Date.now() - started : -1));
      });
      expect(await sendControlRequest(quickPath, { cmd: "status" })).toEqual({ ok: true, result: "served" });
      const elapsed = await closedAfter;
      expect(elapsed).toBeGreaterThanOrEqual(250);
      expect(elapsed).toBeLessThan(3000);
      silent.destroy();
    } finally {
      await quick.close();
    }
  });

  test("a request that takes longer than the idle limit to handle gets its own reply, and the limit applies again after it", async () => {
    const slowPath = join(dir, "slow.sock");
    const slow = await startControlServer(slowPath, async () => {
      await Bun.sleep(700);
      return { ok: true, result: "served late" };
    }, 200);
    try {
      const socket = connect(slowPath);
      let data = "";
      const started = Date.now();
      const ended = new Promise<number>((resolve) => socket.on("end", () => resolve(Date.now() - started)));
      socket.on("data", (chunk: Buffer) => (data += chunk.toString()));
      socket.on("connect", () => socket.write('{"cmd":"status"}\n'));
      const elapsed = await ended;
      const replies = data.split("\n").filter((line) => line !== "").map((line) => JSON.parse(line) as ControlReply);
      expect(replies).toEqual([{ ok: true, result: "served late" }, { ok: false, error: "nothing received for 0.2 s; closing" }]);
      expect(elapsed).toBeGreaterThanOrEqual(850);
      socket.destroy();
    } finally {
      await slow.close();
    }
  });

  test("a second server on a live socket refuses with a clear message", async () => {
    await expect(startControlServer(path, async () => ({ ok: true, result: null }))).rejects.toThrow(SocketInUseError);
    await expect(startControlServer(path, async () => ({ ok: true, result: null }))).rejects.toThrow(/already running/);
  });

  test("a stale socket file (its daemon killed) is replaced", async () => {
    const stalePath = join(dir, "stale.sock");
    const child = startProcess([process.execPath, "-e", `require("node:net").createServer().listen(${JSON.stringify(stalePath)}, () => console.log("listening"))`]);
    await child.waitFor(/listening/);
    await child.stop(0, "SIGKILL");
    expect(statSync(stalePath).isSocket()).toBe(true);
    const replacement = await startControlServer(stalePath, async () => ({ ok: true, result: 2 }));
    expect(await sendControlRequest(stalePath, { cmd: "status" })).toEqual({ ok: true, result: 2 });
    await replacement.close();
  });

  test("a path that is not a socket is never removed", async () => {
    const filePath = join(dir, "not-a-socket");
    await Bun.write(filePath, "keep me");
    await expect(startControlServer(filePath, async () => ({ ok: true, result: null }))).rejects.toThrow(/not a socket/);
    expect(await Bun.file(filePath).text()).toBe("keep me");
  });
  test("1,000 idle connections: the idle ones make room, and status still answers within a second", async () => {
    const idle: Socket[] = [];
    try {
      for (let i = 0; i < 1000; i++) {
        const socket = connect(path);
        socket.on("error", () => {});
        idle.push(socket);
        await new Promise((resolve) => socket.once("connect", resolve));
      }
      const started = performance.now();
      const reply = await sendControlRequest(path, { cmd: "status" });
      const elapsedMs = performance.now() - started;
      console.log(`status with 1,000 idle connections open: ${elapsedMs.toFixed(1)} ms`);
      expect(reply).toEqual({ ok: true, result: { echo: "status" } });
      expect(elapsedMs).toBeLessThan(1000);
    } finally {
      for (const socket of idle) socket.destroy();
    }
  }, 60_000);

  test(`${MAX_CLIENTS} connections all waiting for replies: one more is refused with an error line`, async () => {
    const busyPath = join(dir, "busy.sock");
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const busyServer = await startControlServer(busyPath, async () => {
      await released;
      return { ok: true, result: "late" };
    });
    const waiting: Socket[] = [];
    try {
      for (let i = 0; i < MAX_CLIENTS; i++) {
        const socket = connect(busyPath);
        socket.on("error", () => {});
        waiting.push(socket);
        await new Promise((resolve) => socket.once("connect", resolve));
        socket.write('{"cmd":"status"}\n');
      }
      await Bun.sleep(100);
      const refused = await new Promise<string>((resolve) => {
        const socket = connect(busyPath);
        let data = "";
        socket.on("data", (chunk: Buffer) => (data += chunk.toString()));
        socket.on("close", () => resolve(data));
        socket.on("error", () => {});
      });
      expect(JSON.parse(refused)).toEqual({ ok: false, error: `too many control connections (${MAX_CLIENTS} waiting for replies); try again` });
    } finally {
      release();
      for (const socket of waiting) socket.destroy();
      await busyServer.close();
    }
  }, 30_000);

  test("a client that sends without reading replies: bng stops reading it, stays bounded and answers others", async () => {
    const floodPath = join(dir, "flood.sock");
    let handledHere = 0;
    // Big replies: without backpressure 20,000 of them would queue 2 GB in bng.
    const bigReply = "x".repeat(100_000);
    const floodServer = await startControlServer(floodPath, async () => {
      handledHere++;
      return { ok: true, result: bigReply };
    });
    // Another process, so that nothing of this one reads the replies (a paused socket in this
    // process would still be read into its own buffers).
    const flooder = startProcess(["python3", "-c", "import socket,sys,time\ns=socket.socket(socket.AF_UNIX)\ns.connect(sys.argv[1])\ns.sendall(b'{\"cmd\":\"status\"}\\n'*20000)\ntime.sleep(30)", floodPath]);
    try {
      const before = process.memoryUsage().rss;
      await Bun.sleep(1500);
      const other = await sendControlRequest(floodPath, { cmd: "status" });
      expect(other.ok).toBe(true);
      Bun.gc(true);
      const growthMiB = (process.memoryUsage().rss - before) / 2 ** 20;
      console.log(`unread replies: ${handledHere} of 20,000 requests handled, rss growth ${growthMiB.toFixed(1)} MiB`);
      expect(handledHere).toBeGreaterThan(0);
      expect(handledHere).toBeLessThan(100);
      expect(growthMiB).toBeLessThan(64);
    } finally {
      await flooder.stop(0, "SIGKILL");
      await floodServer.close();
    }
  }, 30_000);

  test("a socket directory writable by others, or a symlink, is refused", async () => {
    const open = join(dir, "open-dir");
    mkdirSync(open);
    chmodSync(open, 0o777);
    await expect(startControlServer(join(open, "bng.sock"), async () => ({ ok: true, result: null }))).rejects.toThrow(UnsafeDirectoryError);
    await expect(startControlServer(join(open, "bng.sock"), async () => ({ ok: true, result: null }))).rejects.toThrow(/chmod 700/);
    const link = join(dir, "link-dir");
    symlinkSync(join(dir, "run"), link);
    await expect(startControlServer(join(link, "bng.sock"), async () => ({ ok: true, result: null }))).rejects.toThrow(/not a directory/);
  });
});

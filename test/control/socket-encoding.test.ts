// UTF-8 over the control socket: a character whose bytes arrive in two reads is decoded whole,
// in both directions (names in a config are the operator's and need not be ASCII; a status
// with many targets is larger than one read).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { setTimeout as sleep } from "node:timers/promises";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ControlRequest } from "../../src/control/protocol.ts";
import { sendControlRequest } from "../../src/control/socket-client.ts";
import { startControlServer, type ControlServer } from "../../src/control/socket-server.ts";

const dir = mkdtempSync(join(tmpdir(), "bng-utf8-"));
const path = join(dir, "bng.sock");
// 200,000 two-byte characters: the reply spans several reads; with the padding of 1, 2 and 3
// characters in front, read boundaries fall inside a character for at least one of them.
const BIG = "ä".repeat(200_000);
let server: ControlServer;
const received: ControlRequest[] = [];

beforeAll(async () => {
  server = await startControlServer(path, async (request) => {
    received.push(request);
    return { ok: true, result: request.cmd === "show" ? { pad: "x".repeat(request.limit ?? 0), name: BIG } : request };
  });
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

test("a large reply full of non-ASCII characters arrives intact", async () => {
  for (const pad of [1, 2, 3]) {
    const reply = await sendControlRequest(path, { cmd: "show", what: "servers", limit: pad });
    expect(reply.ok).toBe(true);
    const name = reply.ok ? (reply.result as { name: string }).name : "";
    expect({ pad, replaced: name.split("\uFFFD").length - 1, length: name.length }).toEqual({ pad, replaced: 0, length: BIG.length });
    expect(name === BIG).toBe(true);
  }
});

test("a request whose character is split across two writes is read whole", async () => {
  const line = Buffer.from(JSON.stringify({ cmd: "reload", file: "/etc/bng/zürich.conf" }) + "\n", "utf8");
  const split = line.indexOf(Buffer.from("ü", "utf8")) + 1; // between the two bytes of ü
  const reply = await new Promise<string>((resolve, reject) => {
    const socket = connect(path);
    let text = "";
    socket.on("error", reject);
    socket.on("connect", async () => {
      socket.write(line.subarray(0, split));
      // Nothing to await between the halves: give the server a moment to read the first alone.
      await sleep(30);
      socket.write(line.subarray(split));
    });
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8");
      if (text.includes("\n")) {
        socket.end();
        resolve(text);
      }
    });
  });
  expect(JSON.parse(reply)).toEqual({ ok: true, result: { cmd: "reload", file: "/etc/bng/zürich.conf" } });
  expect(received.at(-1)).toEqual({ cmd: "reload", file: "/etc/bng/zürich.conf" });
});

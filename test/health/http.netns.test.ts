// `http`: the real probe against a real HTTP server (Bun.serve) in the target namespace. I = 1 s,
// T = 3 s: a change of the server's status shows within T + 1 s.
import { expect, test } from "bun:test";
import { describeWith, ROOT } from "../fixtures/requirements.ts";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RunningProcess } from "../fixtures/process.ts";
import { CheckLab, REAL, TARGET, tcpListener, useCheckLab } from "./check-lab.ts";

const I = 1;
const T = 3;
const lab = new CheckLab();
const statusFile = join(lab.dir, "status");
const PORT = 8080;
const SILENT_PORT = 8081;
const GARBAGE_PORT = 8082;
const PATH = "/health?full=1";

let server: RunningProcess;

async function setUp(): Promise<void> {
  writeFileSync(statusFile, "200\n");
  server = lab.spawnInTarget([process.execPath, "test/health/http-server.ts", String(PORT), statusFile]);
  await server.waitFor(/listening/, 10_000);
  // Accepts connections and never answers: "no response".
  await lab.spawnInTarget(["python3", "-c", tcpListener("0.0.0.0", SILENT_PORT, "held.append(c)")]).waitFor(/listening/, 5000);
  // Answers with something that is not HTTP: "malformed response".
  await lab.spawnInTarget(["python3", "-c", tcpListener("0.0.0.0", GARBAGE_PORT, 'c.sendall(b"SSH-2.0-OpenSSH_9.2\\r\\n\\r\\n"); c.close()')]).waitFor(/listening/, 5000);
  await lab.startMonitor([
    { id: 1, ipaddr: TARGET, port: 80, http: [PATH, PORT, I, T] },
    { id: 2, ipaddr: TARGET, port: 80, http: ["/", SILENT_PORT, I, T] },
    { id: 3, ipaddr: TARGET, port: 80, http: ["/", 8099, I, T] },
    { id: 4, ipaddr: TARGET, port: 80, http: ["/", GARBAGE_PORT, I, T] },
  ]);
}

describeWith([ROOT], "http in network namespaces", () => {
  useCheckLab(lab, setUp);

  test(
    "a 200 marks the target up; the request is GET PATH from the real address",
    async () => {
      const up = await lab.nextEvent(1, "up", 3000, 0);
      expect(up.cause).toMatch(new RegExp(`^http ${PORT} /health\\?full=1 status 200 in [0-9.]+ ms$`));
      const request = JSON.parse(server.lines.find((line) => line.includes('"method"'))!) as { method: string; path: string; peer: string };
      expect(request.method).toBe("GET");
      expect(request.path).toBe("/health");
      expect(request.peer.replace(/^::ffff:/, "")).toBe(REAL);
    },
    10_000,
  );

  test(
    "a 500 marks it down T s after the last success, with the status as the cause; a 200 again marks it up within I s",
    async () => {
      writeFileSync(statusFile, "500\n");
      const changedAt = Date.now();
      const down = await lab.nextEvent(1, "down", (T + 2) * 1000);
      expect(down.cause).toBe(`http ${PORT} /health?full=1 status 500 for ${T} s`);
      expect(down.wallMs - changedAt).toBeGreaterThanOrEqual((T - I) * 1000 - 1000);
      writeFileSync(statusFile, "302\n");
      const restoredAt = Date.now();
      const up = await lab.nextEvent(1, "up", (I + 2) * 1000);
      expect(up.cause).toMatch(/status 302 in/);
      expect(up.wallMs - restoredAt).toBeLessThanOrEqual(I * 1000 + 500);
    },
    15_000,
  );

  test(
    "a server that accepts and never answers: 'no response'; nothing listening: 'refused'; not HTTP: 'malformed response'",
    async () => {
      const silent = await lab.nextEvent(2, "down", (T + 2) * 1000, 0);
      expect(silent.cause).toBe(`http ${SILENT_PORT} / no response for ${T} s`);
      const refused = await lab.nextEvent(3, "down", (T + 2) * 1000, 0);
      expect(refused.cause).toBe(`http 8099 / refused for ${T} s`);
      const garbage = await lab.nextEvent(4, "down", (T + 2) * 1000, 0);
      expect(garbage.cause).toBe(`http ${GARBAGE_PORT} / malformed response for ${T} s`);
    },
    10_000,
  );
});

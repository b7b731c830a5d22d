// @ts-check
// Long-lived connections through the balancer, for failover tests: each connection is ONE TCP
// connection, from its own client address, that sends an HTTP/1.1 keep-alive GET every
// `intervalMs` and reads the answer (the target's name). A connection that is reset, closed,
// or gets no answer within `timeoutMs` is broken, and stays broken (no reconnect): what a user
// whose download dies would see. Runs under Node.js, which binds `localAddress` (Bun 1.3.3
// ignores it, see load-client.mjs).
//
// Input: one JSON argument {host, port, clients: [IP...], intervalMs, timeoutMs, durationMs}
// (one connection per client address). Output on stdout: {"ready":true} once every connection
// has had its first answer (or broke), then, at the end of durationMs or at SIGTERM, one line
// {"connections":[{client, targets: [name, ...in the order they changed], answers, maxGapMs, broken, error?}]}.
// maxGapMs is the longest a connection waited between two answers (at the end, the wait since its
// last answer counts too): how long a failover stalled it.
import net from "node:net";

/** @typedef {{ client: string; targets: string[]; answers: number; maxGapMs: number; broken: boolean; error?: string }} Connection */

const job = JSON.parse(process.argv[2] ?? "{}");
if (!Array.isArray(job.clients) || job.clients.length === 0 || !(job.intervalMs > 0) || !(job.timeoutMs > 0) || !(job.durationMs > 0)) {
  process.stderr.write("long-lived-client: needs {host, port, clients, intervalMs, timeoutMs, durationMs}\n");
  process.exit(2);
}

/** @type {Connection[]} */
const connections = [];
/**
 * When each connection last had an answer (epoch ms), in the order of `connections`.
 * @type {number[]}
 */
const lastAnswerAt = [];
let firstAnswers = 0;
let finished = false;

function reportReadyOnce() {
  if (firstAnswers === job.clients.length) process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
}

/** @param {string} client */
function open(client) {
  /** @type {Connection} */
  const connection = { client, targets: [], answers: 0, maxGapMs: 0, broken: false };
  const index = connections.push(connection) - 1;
  const socket = net.connect({ host: job.host, port: job.port, localAddress: client });
  let buffered = "";
  /** @type {NodeJS.Timeout | undefined} */
  let deadline;
  /** @type {NodeJS.Timeout | undefined} */
  let next;
  let counted = false;
  const countFirst = () => {
    if (counted) return;
    counted = true;
    firstAnswers++;
    reportReadyOnce();
  };
  /** @param {string} error */
  const breakWith = (error) => {
    if (connection.broken || finished) return;
    connection.broken = true;
    connection.error = error;
    clearTimeout(deadline);
    clearTimeout(next);
    socket.destroy();
    countFirst();
  };
  const ask = () => {
    socket.write(`GET / HTTP/1.1\r\nHost: ${job.host}\r\n\r\n`);
    deadline = setTimeout(() => breakWith("no answer"), job.timeoutMs);
  };
  socket.setNoDelay(true);
  socket.on("connect", ask);
  socket.on("data", (chunk) => {
    buffered += chunk.toString("latin1");
    for (;;) {
      const headerEnd = buffered.indexOf("\r\n\r\n");
      if (headerEnd < 0) return;
      const length = Number(/content-length: *(\d+)/i.exec(buffered.slice(0, headerEnd))?.[1] ?? "0");
      if (buffered.length < headerEnd + 4 + length) return;
      const body = buffered.slice(headerEnd + 4, headerEnd + 4 + length).trim();
      buffered = buffered.slice(headerEnd + 4 + length);
      clearTimeout(deadline);
      const now = Date.now();
      if (connection.answers > 0) connection.maxGapMs = Math.max(connection.maxGapMs, now - (lastAnswerAt[index] ?? now));
      lastAnswerAt[index] = now;
      connection.answers++;
      if (connection.targets.at(-1) !== body) connection.targets.push(body);
      countFirst();
      next = setTimeout(ask, job.intervalMs);
    }
  });
  socket.on("error", (error) => breakWith(/** @type {NodeJS.ErrnoException} */ (error).code ?? error.message));
  socket.on("close", () => breakWith("closed"));
}

function finish() {
  if (finished) return;
  finished = true;
  const now = Date.now();
  connections.forEach((connection, index) => {
    const last = lastAnswerAt[index];
    if (!connection.broken && last !== undefined) connection.maxGapMs = Math.max(connection.maxGapMs, now - last);
  });
  process.stdout.write(`${JSON.stringify({ connections })}\n`, () => process.exit(0));
}

for (const client of job.clients) open(client);
setTimeout(finish, job.durationMs);
process.on("SIGTERM", finish);
process.on("SIGINT", finish);

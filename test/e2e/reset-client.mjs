// @ts-check
// One client of `downpolicy reset`, step by step: it opens ONE keep-alive HTTP connection from
// its own address to the VIP and asks once; when told ("again" on stdin) it asks again on the
// same connection and reports what happened to it (bng should answer with a RST); then it
// retries on a new connection from the same address. Runs under Node.js, which binds
// `localAddress` (see load-client.mjs).
//
// Input: one JSON argument {host, port, client, timeoutMs}. Output on stdout, one JSON line per step:
//   {"step":"first","target":"target1","localPort":40123}
//   {"step":"again","outcome":"ECONNRESET"|"answered"|"closed"|"timeout","target"?:...}
//   {"step":"retry","outcome":"answered"|...,"target"?:"target2"}
import net from "node:net";
import readline from "node:readline";

const job = JSON.parse(process.argv[2] ?? "{}");
if (typeof job.host !== "string" || !(job.port > 0) || typeof job.client !== "string" || !(job.timeoutMs > 0)) {
  process.stderr.write("reset-client: needs {host, port, client, timeoutMs}\n");
  process.exit(2);
}

/** @param {object} line */
const say = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);

/**
 * One request on `socket`; resolves with its outcome: the body of the answer, or why there was none.
 * @param {net.Socket} socket
 * @returns {Promise<{ outcome: string; target?: string }>}
 */
function ask(socket) {
  return new Promise((resolve) => {
    let buffered = "";
    const done = (/** @type {{ outcome: string; target?: string }} */ result) => {
      clearTimeout(deadline);
      socket.off("data", onData);
      socket.off("error", onError);
      socket.off("close", onClose);
      resolve(result);
    };
    const onData = (/** @type {Buffer} */ chunk) => {
      buffered += chunk.toString("latin1");
      const headerEnd = buffered.indexOf("\r\n\r\n");
      if (headerEnd < 0) return;
      const length = Number(/content-length: *(\d+)/i.exec(buffered.slice(0, headerEnd))?.[1] ?? "0");
      if (buffered.length >= headerEnd + 4 + length) done({ outcome: "answered", target: buffered.slice(headerEnd + 4, headerEnd + 4 + length).trim() });
    };
    const onError = (/** @type {NodeJS.ErrnoException} */ error) => done({ outcome: error.code ?? error.message });
    const onClose = () => done({ outcome: "closed" });
    const deadline = setTimeout(() => done({ outcome: "timeout" }), job.timeoutMs);
    socket.on("data", onData);
    socket.on("error", onError);
    socket.on("close", onClose);
    socket.write(`GET / HTTP/1.1\r\nHost: ${job.host}\r\n\r\n`);
  });
}

/** @returns {Promise<net.Socket>} */
function connect() {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: job.host, port: job.port, localAddress: job.client });
    socket.setNoDelay(true);
    socket.once("connect", () => resolve(socket));
    socket.once("error", reject);
  });
}

const first = await connect();
const answer = await ask(first);
say({ step: "first", ...answer, localPort: first.localPort });
// Errors after the first answer are reported by the next ask; keep them from crashing the process.
first.on("error", () => undefined);

const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line.trim() !== "again") continue;
  say({ step: "again", ...(await ask(first)) });
  first.destroy();
  try {
    const retry = await connect();
    say({ step: "retry", ...(await ask(retry)) });
    retry.destroy();
  } catch (error) {
    say({ step: "retry", outcome: /** @type {NodeJS.ErrnoException} */ (error).code ?? String(error) });
  }
  break;
}
lines.close();
process.exit(0);

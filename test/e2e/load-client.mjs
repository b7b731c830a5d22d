// @ts-check
// The lab's load generator, run in the client namespace by test/e2e/lab.ts.
//
// It runs under Node.js, not Bun, on purpose: Bun 1.3.3 ignores `localAddress` in node:http
// and node:net (oven-sh/bun#6888), so every connection would leave from the namespace's
// primary address and the balancer would see one client instead of many. Node binds it.
//
// Every request is a fresh TCP connection (agent: false, Connection: close) so each one goes
// through the balancer's session logic from its first SYN.
//
// Input: one JSON argument, either
//   {"mode":"count","url":U,"clients":[IP...],"count":N,"concurrency":C,"timeoutMs":T}
//   {"mode":"stream","url":U,"clients":[IP...],"durationMs":D,"concurrency":C,"timeoutMs":T,"pauseMs":P}
// Output: one JSON line on stdout: {"results":[{client,ok,target?,peer?,error?,ms,startedAt}...]}
import http from "node:http";

/**
 * @typedef {{ client: string; ok: boolean; target?: string; peer?: string; error?: string; ms: number; startedAt: number }} Result
 * @typedef {{ mode: "count"; url: string; clients: string[]; count: number; concurrency: number; timeoutMs: number }} CountJob
 * @typedef {{ mode: "stream"; url: string; clients: string[]; durationMs: number; concurrency: number; timeoutMs: number; pauseMs: number }} StreamJob
 */

/**
 * @param {string} message
 * @returns {never}
 */
function fail(message) {
  process.stderr.write(`load-client: ${message}\n`);
  process.exit(2);
}

/** @returns {CountJob | StreamJob} */
function parseJob() {
  const raw = process.argv[2];
  if (raw === undefined) fail("missing JSON job argument");
  const job = JSON.parse(raw);
  if (!Array.isArray(job.clients) || job.clients.length === 0) fail("clients must be a non-empty array");
  if (!(job.concurrency >= 1) || !(job.timeoutMs >= 1)) fail("concurrency and timeoutMs must be positive");
  if (job.mode === "count" && job.count >= 0) return job;
  if (job.mode === "stream" && job.durationMs >= 0 && job.pauseMs >= 0) return job;
  return fail(`bad job ${raw}`);
}

/**
 * @param {string} url
 * @param {string} client
 * @param {number} timeoutMs
 * @returns {Promise<Result>}
 */
function requestOnce(url, client, timeoutMs) {
  const startedAt = Date.now();
  const started = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    /** @param {Omit<Result, "client" | "ms" | "startedAt">} outcome */
    const settle = (outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ client, ...outcome, ms: Math.round((performance.now() - started) * 10) / 10, startedAt });
    };
    const request = http.request(url, { localAddress: client, agent: false, headers: { connection: "close" } }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk) => (body += chunk));
      response.on("end", () => {
        const peerHeader = response.headers["x-client-address"];
        const peer = typeof peerHeader === "string" ? peerHeader : undefined;
        if (response.statusCode === 200) settle({ ok: true, target: body.trim(), peer });
        else settle({ ok: false, error: `HTTP ${response.statusCode}`, peer });
      });
      response.on("error", (error) => settle({ ok: false, error: errorName(error) }));
    });
    const timer = setTimeout(() => {
      settle({ ok: false, error: "timeout" });
      request.destroy();
    }, timeoutMs);
    request.on("error", (error) => settle({ ok: false, error: errorName(error) }));
    request.end();
  });
}

/** @param {Error & { code?: string }} error */
function errorName(error) {
  return error.code ?? error.message;
}

/** @param {number} ms */
function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** @param {CountJob} job */
async function runCount(job) {
  /** @type {Result[]} */
  const results = new Array(job.count);
  let next = 0;
  const worker = async () => {
    while (next < job.count) {
      const index = next++;
      const client = /** @type {string} */ (job.clients[index % job.clients.length]);
      results[index] = await requestOnce(job.url, client, job.timeoutMs);
    }
  };
  await Promise.all(Array.from({ length: Math.min(job.concurrency, job.count) }, worker));
  return results;
}

/** @param {StreamJob} job */
async function runStream(job) {
  /** @type {Result[]} */
  const results = [];
  const deadline = Date.now() + job.durationMs;
  let issued = 0;
  const worker = async () => {
    while (Date.now() < deadline) {
      const client = /** @type {string} */ (job.clients[issued++ % job.clients.length]);
      results.push(await requestOnce(job.url, client, job.timeoutMs));
      if (job.pauseMs > 0) await sleep(job.pauseMs);
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, worker));
  return results.sort((a, b) => a.startedAt - b.startedAt);
}

const job = parseJob();
const results = job.mode === "count" ? await runCount(job) : await runStream(job);
process.stdout.write(`${JSON.stringify({ results })}\n`);

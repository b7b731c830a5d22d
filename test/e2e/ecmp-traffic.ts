// Requests for the scale-out lab, from its client namespace: one fresh connection per request
// (load-client.mjs, run by Node.js, which binds each client's source address). Long-lived
// connections come from ha-pair.ts (LongLivedClients).
import { join } from "node:path";
import type { EcmpLab } from "./ecmp-lab.ts";
import { VIP, type RequestResult } from "./lab.ts";

const LOAD_CLIENT_SCRIPT = join(import.meta.dir, "load-client.mjs");

function node(): string {
  const path = Bun.which("node");
  if (path === null) throw new Error("the lab's clients need Node.js (`node` on PATH): Bun 1.3.3 cannot bind a client address");
  return path;
}

/** `count` requests, each on a fresh connection, from `clients` taken in turn. */
export async function requests(lab: EcmpLab, options: { clients: readonly string[]; count: number; concurrency: number; timeoutMs: number }): Promise<RequestResult[]> {
  const job = { mode: "count", url: `http://${VIP}/`, clients: options.clients, count: options.count, concurrency: options.concurrency, timeoutMs: options.timeoutMs };
  const budgetMs = Math.ceil(options.count / options.concurrency) * options.timeoutMs + 5000;
  const { stdout } = await lab.exec(lab.ns.client, [node(), LOAD_CLIENT_SCRIPT, JSON.stringify(job)], budgetMs);
  return (JSON.parse(stdout) as { results: RequestResult[] }).results;
}

/** Whole seconds and tenths, for reports: 1234 → "1.2 s". */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

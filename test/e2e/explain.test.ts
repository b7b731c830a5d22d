// `bng explain` against real traffic: for 100 clients of a `method hash` server it names the
// target before they connect, 1,000 connections then go exactly there, and afterwards it names
// their sessions; reloaded to `method rr`, 100 new clients are "round-robin" until they connect,
// and once 1,000 more connections went out, it agrees with every client's target.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import type { Explanation, ServerExplanation } from "../../src/control/explain.ts";
import { sendControlRequest } from "../../src/control/socket-client.ts";
import { describeWith, ROOT } from "../fixtures/requirements.ts";
import { SEED_CONFIG_PATH } from "./bng.ts";
import { labWithBng } from "./fixture.ts";
import type { RequestResult } from "./lab.ts";

const SEED = readFileSync(SEED_CONFIG_PATH, "utf8");
const HASH_CONFIG = SEED.replace("targets 1,2\n}", "targets 1,2\nmethod hash\n}");
const RR_CONFIG = SEED;
const CLIENTS = 200;

// Set by the suite (its hooks run only where the suite runs: as root).
let fixture: ReturnType<typeof labWithBng>;

async function explain(client: string): Promise<ServerExplanation> {
  const reply = await sendControlRequest(fixture.bng.socket, { cmd: "explain", client, server: 1 });
  if (!reply.ok) throw new Error(reply.error);
  const [server] = (reply.result as Explanation).servers;
  return server!;
}

/** The target id each client's requests went to; fails when a client's requests went to two targets or failed. */
function servedBy(results: RequestResult[]): Map<string, number> {
  expect(results.filter((result) => !result.ok)).toEqual([]);
  const served = new Map<string, Set<number>>();
  for (const result of results) served.set(result.client, (served.get(result.client) ?? new Set()).add(Number(result.target!.replace("target", ""))));
  const split = [...served].filter(([, targets]) => targets.size > 1);
  expect(split).toEqual([]);
  return new Map([...served].map(([client, targets]) => [client, [...targets][0]!]));
}

describeWith([ROOT], "bng explain in the lab", () => {
  fixture = labWithBng({ prefix: "bngex", clients: CLIENTS, config: HASH_CONFIG });
  test(
    "method hash: the targets named before 1,000 connections are where they go, then by their sessions",
    async () => {
      const { lab } = fixture;
      const clients = lab.clientAddresses.slice(0, 100);
      const predicted = new Map<string, number>();
      for (const client of clients) {
        const explained = await explain(client);
        expect(explained).toMatchObject({ by: "method", method: "hash", session: null });
        predicted.set(client, explained.target!);
      }
      // Both targets get some of them: the check below tells them apart.
      expect(new Set(predicted.values()).size).toBe(2);
      const served = servedBy(await lab.requests({ count: 1000, clients: 100, concurrency: 16 }));
      expect(served).toEqual(predicted);
      for (const client of clients) {
        const explained = await explain(client);
        expect([explained.by, explained.target, explained.session?.kept]).toEqual(["session", served.get(client), true]);
      }
    },
    60_000,
  );

  test(
    "method rr: new clients depend on the turn until they connect; after 1,000 connections explain agrees with all 200",
    async () => {
      const { lab, bng, scratch } = fixture;
      const reload = await bng.cli(["reload", scratch.writeConfig("rr.conf", RR_CONFIG)]);
      expect(reload.exitCode).toBe(0);
      const fresh = lab.clientAddresses.slice(100);
      for (const client of fresh) expect(await explain(client)).toMatchObject({ by: "round-robin", target: null, session: null });
      const served = servedBy(await lab.requests({ count: 1000, concurrency: 16 }));
      expect(served.size).toBe(CLIENTS);
      for (const [client, target] of served) {
        const explained = await explain(client);
        expect([client, explained.by, explained.target]).toEqual([client, "session", target]);
      }
    },
    60_000,
  );

  test(
    "the command line: a checklist of why and the candidates; --json; a bad client is a usage error",
    async () => {
      const { lab, bng } = fixture;
      const client = lab.clientAddresses[0]!;
      const human = await bng.cli(["explain", client]);
      expect(human.exitCode).toBe(0);
      const lines = human.stdout.trimEnd().split("\n");
      expect(lines[0]).toBe("server 1  172.16.1.10:80 tcp  method rr");
      expect(lines[1]).toMatch(new RegExp(`^  ${client.replaceAll(".", "\\.")} -> target [12] \\(its session\\)$`));
      // The lab's HTTP connections are closed: the session has `set fintimeout` (10 s) left.
      expect(lines[2]).toMatch(/^  why: its session binds it to target [12]: made [0-9]+ s ago, its last packet [0-9]+ s ago, it ends after 10 s without one \(the client closed its connection\)$/);
      expect(lines[3]).toBe("  TARGET  ADDRESS       STATE  MAC  WEIGHT  POOL  SESSIONS");
      const json = await bng.cli(["explain", `${client}:40000`, "--server", "1", "--json"]);
      expect(JSON.parse(json.stdout)).toMatchObject({ client, port: 40000, servers: [{ server: 1, by: "session" }] });
      const bad = await bng.cli(["explain", "198.18.0.300"]);
      expect(bad.exitCode).toBe(2);
      expect(bad.stderr).toContain("explain needs CLIENT_IP or CLIENT_IP:PORT");
    },
    30_000,
  );
});

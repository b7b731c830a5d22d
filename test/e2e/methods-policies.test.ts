// Methods and down policies end to end, on the seed's network: `method agent` steered by the
// loads `bng agent --script` reports from the targets, and `downpolicy reset` answering a client
// of a target that went down with a RST from the VIP, seen in the client's namespace.
import { beforeAll, expect, test } from "bun:test";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describeWith, program, ROOT } from "../fixtures/requirements.ts";
import { bngCommand, BngInLab, SEED_CONFIG_PATH, type Scratch } from "./bng.ts";
import { labWithBng, withLab } from "./fixture.ts";
import { clientAddress, VIP, type Lab } from "./lab.ts";
import { readPcap } from "./pcap.ts";

const SEED = readFileSync(SEED_CONFIG_PATH, "utf8");
const INTERVAL_S = 1;
const TIMEOUT_S = 3;
const AGENT_PORT = 439;
const NODE = Bun.which("node") ?? "node";

/** The seed's file with fast checks, `serverLines` in server 1 and `targetLines` in both targets. */
function seedWith(serverLines: string[], targetLines: string[] = []): string {
  return SEED.replace("targets 1,2\n}", ["targets 1,2", ...serverLines, "}"].join("\n")).replaceAll("tcpopen 80,3,10", [`tcpopen 80,${INTERVAL_S},${TIMEOUT_S}`, ...targetLines].join("\n"));
}

describeWith([ROOT], "method agent in the lab", () => {
  /** `bng agent --script` on target n, reporting the load written to its file. */
  async function startAgent(lab: Lab, scratch: Scratch, n: number, load: string): Promise<(next: string) => void> {
    const loadFile = scratch.write(`load${n}`, `${load}\n`);
    const script = scratch.write(`load${n}.sh`, `#!/bin/sh\ncat ${loadFile}\n`);
    chmodSync(script, 0o755);
    const agent = lab.spawnIn(lab.targetNs(n), [...bngCommand(), "agent", String(AGENT_PORT), "--script", script], { lines: "stderr" });
    await agent.waitForOutput(/agent-listening/, 10_000);
    return (next) => writeFileSync(loadFile, `${next}\n`);
  }

  test("new clients go to the target reporting the least load, and follow the reports; existing clients stay", async () => {
    await withLab({ prefix: "bngpol", clients: 16 }, async (lab, scratch) => {
      const setLoad1 = await startAgent(lab, scratch, 1, "5");
      const setLoad2 = await startAgent(lab, scratch, 2, "0.5");
      const config = scratch.writeConfig("bng.conf", seedWith(["method agent"], [`agent ${AGENT_PORT},${INTERVAL_S},${TIMEOUT_S}`]));
      const bng = await BngInLab.start(lab, config, `${scratch.dir}/bng.sock`);
      try {
        await bng.waitForTargets([1, 2], "up", 10_000);
        const loads = async () => (await bng.status()).targets.map((target) => target.load);
        const waitForLoads = async (wanted: number[]) => {
          const deadline = Date.now() + (INTERVAL_S + 3) * 1000;
          while (JSON.stringify(await loads()) !== JSON.stringify(wanted)) {
            if (Date.now() > deadline) throw new Error(`loads ${JSON.stringify(await loads())}, expected ${JSON.stringify(wanted)}`);
            await Bun.sleep(100);
          }
        };
        await waitForLoads([5, 0.5]);
        const first = await lab.requests({ count: 16, concurrency: 4, clients: 8 });
        expect(first.map((r) => r.target)).toEqual(new Array(16).fill("target2"));

        setLoad1("0.25");
        setLoad2("5");
        await waitForLoads([0.25, 5]);
        expect((await bng.cli(["status"])).stdout).toMatch(/agent 439 ok [0-9.]+ms load 0\.25/);
        const second = await lab.requests({ count: 32, concurrency: 4 });
        const served = (results: typeof second, clients: string[]) => new Set(results.filter((r) => clients.includes(r.client)).map((r) => r.target));
        const known = lab.clientAddresses.slice(0, 8);
        const fresh = lab.clientAddresses.slice(8);
        expect(served(second, known)).toEqual(new Set(["target2"]));
        expect(served(second, fresh)).toEqual(new Set(["target1"]));
        expect(second.every((r) => r.ok)).toBe(true);
      } finally {
        await bng.stop();
      }
    });
  }, 60_000);
});

describeWith([ROOT, program("tcpdump")], "downpolicy reset in the lab", () => {
  const fixture = labWithBng({ prefix: "bngpol", clients: 2, config: seedWith(["downpolicy reset"]) });
  let lab: Lab;
  let scratch: Scratch;
  let bng: BngInLab;
  beforeAll(() => ({ lab, scratch, bng } = fixture));

  test("a client of a target that lost its network gets a RST from the VIP at its first packet after the target is down; its retry goes to the other target", async () => {
    const client = clientAddress(0);
    const pcap = join(scratch.dir, "client.pcap");
    const capture = lab.spawnIn(lab.ns.client, ["tcpdump", "-Z", "root", "-U", "--immediate-mode", "-i", "eth0", "-w", pcap, `tcp and host ${VIP}`]);
    await capture.waitForOutput(/listening on/, 5000);
    const job = { host: VIP, port: 80, client, timeoutMs: 5000 };
    const connection = lab.spawnIn(lab.ns.client, [NODE, join(import.meta.dir, "reset-client.mjs"), JSON.stringify(job)], { stdin: true });
    const step = async (name: string) => JSON.parse((await connection.waitFor(new RegExp(`"step":"${name}"`), 15_000)).line) as { outcome: string; target?: string; localPort?: number };

    const first = await step("first");
    expect(first.outcome).toBe("answered");
    const n = Number(first.target!.replace("target", ""));
    const other = n === 1 ? 2 : 1;
    // The target's box loses its network: it can neither answer nor reset anything itself.
    await lab.exec(lab.targetNs(n), ["ip", "link", "set", "eth0", "down"]);
    await bng.waitForTargets([n], "down", (INTERVAL_S + TIMEOUT_S + 3) * 1000);
    expect((await bng.status()).targets.find((target) => target.id === n)!.sessions).toBe(1);

    connection.write("again\n");
    expect(await step("again")).toEqual({ step: "again", outcome: "ECONNRESET" } as never);
    expect(await step("retry")).toEqual({ step: "retry", outcome: "answered", target: `target${other}` } as never);
    await Bun.sleep(200);
    await capture.stop(2000, "SIGINT");
    expect((await bng.status()).totals.resets_sent).toBe(1);

    // The connection as the client's interface saw it, after the first answer: the client's
    // request, then at once the VIP's RST, whose sequence number is what the client acknowledged.
    const port = first.localPort!;
    const segments = readPcap(pcap)
      .map((frame) => ({
        from: Array.from(frame.subarray(26, 30)).join("."),
        srcPort: (frame[34]! << 8) | frame[35]!,
        dstPort: (frame[36]! << 8) | frame[37]!,
        seq: new DataView(frame.buffer, frame.byteOffset + 38, 4).getUint32(0),
        ack: new DataView(frame.buffer, frame.byteOffset + 42, 4).getUint32(0),
        flags: frame[47]!,
        payload: ((frame[16]! << 8) | frame[17]!) - 20 - (frame[46]! >>> 4) * 4,
      }))
      .filter((segment) => segment.srcPort === port || segment.dstPort === port);
    const reset = segments.findIndex((segment) => (segment.flags & 0x04) !== 0);
    expect(reset).toBeGreaterThan(0);
    const rst = segments[reset]!;
    const request = segments[reset - 1]!;
    expect({ from: rst.from, srcPort: rst.srcPort, dstPort: rst.dstPort, flags: rst.flags }).toEqual({ from: VIP, srcPort: 80, dstPort: port, flags: 0x04 });
    expect({ from: request.from, payload: request.payload > 0 }).toEqual({ from: client, payload: true });
    expect(rst.seq).toBe(request.ack);
    // Within one packet: the request that met the down target was its first packet since the first answer.
    const firstAnswer = segments.findIndex((segment) => segment.from === VIP && segment.payload > 0);
    const clientPacketsBetween = segments.slice(firstAnswer + 1, reset).filter((segment) => segment.from === client && segment.payload > 0);
    expect(clientPacketsBetween).toHaveLength(1);
    expect(segments.slice(reset + 1).filter((segment) => segment.from === client)).toEqual([]);
    await connection.stop(2000);
  }, 60_000);
});

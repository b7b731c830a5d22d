// The frame cases (test/fixtures/frame-cases.ts) over a veth pair on the engine under test
// (BNG_TEST_IO): bng's data plane as `bng run` starts it (frame-case-dataplane.ts: a worker thread
// on a real AF_PACKET engine, bng's MAC on its side) in one namespace, the client
// (frame-case-client.ts) in the other. Each case gets a fresh worker; each frame is injected from
// the client's side, and what comes back must be the expected frames byte for byte, while the
// worker's counters must name the expected verdict and reason. Cases marked memoryOnly run only in
// test/dataplane/fixtures.test.ts. A step the kernel's filter refuses (`filtered`) must move no
// counter: not even the worker's frame count. Namespaces `bngv<random>-cl` and `-lb`, removed afterwards.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { CountersSnapshot } from "../../src/dataplane/counters.ts";
import { CLIENT_MAC, OWN_MAC } from "../fixtures/dataplane.ts";
import { FRAME_CASES, type Expected } from "../fixtures/frame-cases.ts";
import { NamespaceFamily } from "../fixtures/namespaces.ts";
import type { RunningProcess } from "../fixtures/process.ts";
import { describeWith, ROOT } from "../fixtures/requirements.ts";
import { ENGINE } from "./bng.ts";

const DATAPLANE = new URL("./frame-case-dataplane.ts", import.meta.url).pathname;
const CLIENT = new URL("./frame-case-client.ts", import.meta.url).pathname;

type Counters = Pick<CountersSnapshot, "events" | "drops" | "passes">;

interface DataplaneState {
  counters: Counters;
  neighbours: Record<string, string | null>;
}

/** Sends one command line and returns the JSON line it answers with. */
async function ask<T>(child: RunningProcess, command: string): Promise<T> {
  const index = child.lines.length;
  child.write(`${command}\n`);
  return JSON.parse((await child.waitFor(() => true, 15_000, index)).line) as T;
}

/**
 * What the worker decided about one frame, from its counters before and after the frame and the
 * probe behind it (one frame and one ICMP echo reply of the probe's own).
 */
function decision(before: Counters, after: Counters): string[] {
  const grew = (a: Record<string, number>, b: Record<string, number>, name: string) => (b[name] ?? 0) - (a[name] ?? 0);
  const seen: string[] = [];
  if (grew(before.events, after.events, "forwarded") > 0) seen.push("forward");
  if (grew(before.events, after.events, "arp_replies") + grew(before.events, after.events, "icmp_replies") - 1 > 0) seen.push("reply");
  for (const reason of Object.keys(after.drops)) if (grew(before.drops, after.drops, reason) > 0) seen.push(`drop ${reason}`);
  for (const reason of Object.keys(after.passes)) if (grew(before.passes, after.passes, reason) > 0) seen.push(`pass ${reason}`);
  return seen;
}

/**
 * The state once the worker has counted `frames` more frames than in `before` (or after a second).
 * On xdp a frame the kernel passes (ARP other than requests for a VIP) reaches bng through its
 * packet socket, and may be decided just after the probe that came through the AF_XDP socket.
 */
async function stateAfter(dataplane: RunningProcess, before: DataplaneState, frames: number): Promise<DataplaneState> {
  for (let attempt = 0; ; attempt++) {
    const state = await ask<DataplaneState>(dataplane, "state");
    if (state.counters.events.frames! - before.counters.events.frames! >= frames || attempt === 40) return state;
    await Bun.sleep(25);
  }
}

function described(expected: Expected): string {
  return "reason" in expected ? `${expected.verdict} ${expected.reason}` : expected.verdict;
}

const hex = (frame: Uint8Array) => Buffer.from(frame).toString("hex");

describeWith([ROOT], `the frame cases over veth, on the ${ENGINE} engine`, () => {
  let family: NamespaceFamily;
  let dataplane: RunningProcess;
  let client: RunningProcess;
  let probe = 0;

  beforeAll(async () => {
    family = new NamespaceFamily("bngv");
    const clientNs = family.add("cl");
    const bngNs = family.add("lb");
    family.veth({ ns: clientNs, ifname: "eth0", mac: CLIENT_MAC }, { ns: bngNs, ifname: "eth0", mac: OWN_MAC });
    dataplane = family.spawn(bngNs, [process.execPath, DATAPLANE, ENGINE, "eth0"], { stdin: true });
    client = family.spawn(clientNs, [process.execPath, CLIENT, "eth0"], { stdin: true });
    expect(JSON.parse((await client.waitFor(() => true, 10_000)).line)).toEqual({ ready: true });
  }, 20_000);

  afterAll(async () => {
    await family?.destroy();
  }, 20_000);

  for (const frameCase of FRAME_CASES.filter((c) => c.memoryOnly === undefined)) {
    test(frameCase.name, async () => {
      expect(await ask<object>(dataplane, "start")).toEqual({ started: true });
      let before = await ask<DataplaneState>(dataplane, "state");
      for (const step of frameCase.steps) {
        const reply = await ask<{ frames?: string[]; error?: string }>(client, JSON.stringify({ frame: hex(step.frame), probe: ++probe }));
        expect(reply.error).toBeUndefined();
        // The probe's echo request is one frame; the step's frame is another unless the kernel's filter refuses it.
        const frames = step.filtered ? 1 : 2;
        const after = await stateAfter(dataplane, before, frames);
        expect(after.counters.events.frames! - before.counters.events.frames!).toBe(frames);
        const expected = (ENGINE === "xdp" ? step.onXdp : undefined) ?? step.expect;
        expect(decision(before.counters, after.counters)).toEqual(step.filtered ? [] : [described(expected)]);
        expect(reply.frames).toEqual("out" in expected ? [hex(expected.out)] : []);
        before = after;
      }
      for (const [id, learned] of Object.entries(frameCase.neighbours ?? {})) expect(`target ${id}: ${before.neighbours[id]}`).toBe(`target ${id}: ${learned}`);
    }, 20_000);
  }
});

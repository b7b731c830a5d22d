// bng's data plane as `bng run` starts it (src/main/workers.ts: one worker thread on a real
// engine; on xdp with bng's XDP program attached for the whole run) on the frame cases' configuration (test/fixtures/frame-cases.ts), run inside a
// namespace by test/e2e/frame-cases.test.ts. Commands on stdin, one answer line each on stdout:
//   start   a fresh worker with fresh sessions, neighbours and counters -> {"started":true}
//   state   -> {"counters":{events,drops,passes},"neighbours":{"ID":"MAC"|null,...}}
// Usage: bun test/e2e/frame-case-dataplane.ts ENGINE IFNAME
import { createInterface } from "node:readline";
import { monotonicMs } from "../../ffi/clock.ts";
import type { PacketEngine } from "../../src/config/model.ts";
import type { Dataplane } from "../../src/control/dependencies.ts";
import { SharedState } from "../../src/control/shared-state.ts";
import { readCounters } from "../../src/dataplane/counters.ts";
import { formatMac } from "../../src/dataplane/frame.ts";
import { buildForwardingTable } from "../../src/dataplane/table.ts";
import { startWorkers } from "../../src/main/workers.ts";
import { attachXdpRedirect } from "../../src/host/xdp-redirect.ts";
import { interfaceIndex } from "../../ffi/interface.ts";
import { createLogger } from "../../src/log/logger.ts";
import { OWN_MAC, targetRuntimes } from "../fixtures/dataplane.ts";
import { FRAME_CASE_TARGETS_DOWN, frameCaseConfig } from "../fixtures/frame-cases.ts";
import { mac } from "../fixtures/frames.ts";

const [engineName = "", ifname = ""] = process.argv.slice(2);
const engine = engineName as PacketEngine;
const config = frameCaseConfig();
const table = buildForwardingTable({ config, ownMac: mac(OWN_MAC), targets: targetRuntimes(config, FRAME_CASE_TARGETS_DOWN) });

let dataplane: Dataplane | undefined;
const xdp = engine === "xdp" ? attachXdpRedirect(ifname, interfaceIndex(ifname), 1) : undefined;
let shared = new SharedState({ sessionCapacity: 1024, workers: 1 }, monotonicMs());

async function start(): Promise<void> {
  await dataplane?.stop();
  shared = new SharedState({ sessionCapacity: 1024, workers: 1 }, monotonicMs());
  dataplane = await startWorkers({
    ifname,
    workers: 1,
    batchSize: 64,
    io: engine,
    ...(xdp ? { xdp } : {}),
    table,
    shared: shared.structures(),
    journalSessions: false,
    onFailure: (message) => {
      console.error(message);
      process.exit(1);
    },
    logger: createLogger(),
  });
}

function state(): object {
  const { events, drops, passes } = readCounters(shared.countersBuffer);
  const learned = Object.fromEntries(
    config.targets.map((target) => {
      const neighbour = shared.neighbours.read(target.id);
      return [target.id, neighbour ? formatMac(neighbour.mac) : null];
    }),
  );
  return { counters: { events, drops, passes }, neighbours: learned };
}

for await (const command of createInterface({ input: process.stdin })) {
  if (command === "start") {
    await start();
    console.log(JSON.stringify({ started: true }));
  } else if (command === "state") {
    console.log(JSON.stringify(state()));
  } else {
    console.error(`unknown command ${JSON.stringify(command)}`);
    process.exit(2);
  }
}
await dataplane?.stop();
xdp?.close();

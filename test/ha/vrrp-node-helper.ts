// A VRRP node made of bng's pure core on real sockets, for the keepalived interop test: runs
// inside a network namespace (`ip netns exec NS bun test/ha/vrrp-node-helper.ts ...`), receives
// with the data plane's AF_PACKET PacketIO, checks every VRRP frame with checkVrrpAdvert, feeds
// the accepted ones to a VrrpMachine on the monotonic clock, and sends the adverts it asks for
// with openFrameSender. SIGTERM is the machine's Shutdown event (a priority-0 advert), then exit.
//
//   bun test/ha/vrrp-node-helper.ts IFNAME VRID PRIORITY REAL_ADDRESS VIP[,VIP...]
//
// Prints JSON lines: {"ready":true}; {"kind":"frame",...} per VRRP frame received (with its
// bytes in hex for the first few); {"kind":"advert",...} per advert sent; {"kind":"transition",...}
// per state change; {"kind":"stopped",...} with the result counts at the end. Times are
// wall-clock ms (Date.now()), comparable with the other processes of the test.
import { openFrameSender } from "../../ffi/frame-sender.ts";
import { openPacketIO } from "../../ffi/packet-io/open.ts";
import { monotonicMs } from "../../ffi/clock.ts";
import { ipToString } from "../../src/config/model.ts";
import {
  ADVERT_NOT_VRRP,
  ADVERT_RESULTS,
  MAX_ADVERT_FRAME_LEN,
  checkVrrpAdvert,
  createAdvertFields,
  createVrrpRouter,
  advertAccepted,
  writeVrrpAdvert,
} from "../../src/ha/vrrp-advert.ts";
import { VrrpMachine, type VrrpAction } from "../../src/ha/vrrp-machine.ts";
import { ip } from "../fixtures/frames.ts";

const [ifname = "", vridText = "", priorityText = "", realText = "", vipsText = ""] = process.argv.slice(2);
const realAddress = ip(realText);
const router = createVrrpRouter({ vrid: Number(vridText), intervalS: 1, realAddress, addresses: vipsText.split(",").map(ip) });
const machine = new VrrpMachine({ priority: Number(priorityText), intervalS: 1, preempt: true, realAddress, syncPeer: false });

const io = openPacketIO("mmsg", { ifname, receiveTimeoutMs: 10 });
const sender = openFrameSender(ifname);
const frame = new Uint8Array(MAX_ADVERT_FRAME_LEN);
const fields = createAdvertFields();
const counts = new Array<number>(ADVERT_RESULTS.length).fill(0);
let ipId = 0;
let framesShown = 0;
let stopping = false;

function print(line: object): void {
  console.log(JSON.stringify(line));
}

function carryOut(actions: VrrpAction[]): void {
  for (const action of actions) {
    if (action.kind === "advert") {
      ipId = (ipId + 1) & 0xffff;
      const length = writeVrrpAdvert(frame, 0, router, action.priority, ipId);
      sender.send(frame, length);
      print({ kind: "advert", priority: action.priority, atMs: Date.now() });
    } else if (action.kind === "master" || action.kind === "backup" || action.kind === "init") {
      print({ kind: "transition", state: action.kind, reason: action.reason, atMs: Date.now() });
    }
  }
}

process.on("SIGTERM", () => {
  stopping = true;
});

print({ ready: true });
carryOut(machine.step(monotonicMs(), { kind: "startup" }));
while (!stopping) {
  const received = io.receive();
  for (let slot = 0; slot < received; slot++) {
    const at = slot * io.rx.slotSize;
    const length = io.rx.lengths[slot]!;
    const result = checkVrrpAdvert(io.rx.bytes, at, length, router, fields);
    if (result === ADVERT_NOT_VRRP) continue;
    counts[result]!++;
    print({
      kind: "frame",
      result: ADVERT_RESULTS[result],
      vrid: fields.vrid,
      priority: fields.priority,
      intervalS: fields.intervalS,
      source: ipToString(fields.sourceIp),
      count: fields.count,
      atMs: Date.now(),
      ...(framesShown++ < 3 ? { hex: Buffer.from(io.rx.bytes.subarray(at, at + length)).toString("hex") } : {}),
    });
    if (advertAccepted(result)) carryOut(machine.step(monotonicMs(), { kind: "advert", priority: fields.priority, sourceIp: fields.sourceIp }));
  }
  if (monotonicMs() >= machine.nextDeadlineMs()) carryOut(machine.step(monotonicMs(), { kind: "tick" }));
  // Let the SIGTERM handler run.
  await new Promise((resolve) => setImmediate(resolve));
}
carryOut(machine.step(monotonicMs(), { kind: "shutdown" }));
print({ kind: "stopped", counts: Object.fromEntries(ADVERT_RESULTS.map((name, i) => [name, counts[i]])) });
sender.close();
io.close();

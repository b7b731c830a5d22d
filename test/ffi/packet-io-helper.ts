// Runs inside a test network namespace (`ip netns exec NS bun test/ffi/packet-io-helper.ts ENGINE
// MODE ...`) and drives the real AF_PACKET PacketIO. It prints `{"ready":true}` once its sockets
// are open, then one JSON line with what it saw. ENGINE (mmsg or ring) is the engine of the
// receive, send, senddown, forward, ping, linkdown and overflow modes; the others use mmsg.
// Modes:
//   receive IFNAME DURATION_MS [SLOT_SIZE]        summarize every frame received
//   send IFNAME DST_MAC MARKER bypass|qdisc LENGTH...
//                                                 send one test frame per LENGTH through tx and
//                                                 one through the frame sender; watch for echoes
//   senddown IFNAME DST_MAC MARKER               send 3 test frames with the link down, then 1 after it is up
//   forward IFNAME DURATION_MS                    send every test frame back to its source from its rx
//                                                 slot, as bng forwards (tx.rxSlots; bench)
//   flood IFNAME DST_MAC COUNT [VIP]              send COUNT test frames, count those coming back (with
//                                                 VIP: as UDP datagrams to VIP:9, for the XDP engine)
//   ping IFNAME DST_MAC COUNT GAP_MS              one test frame at a time to a forwarder: round trips
//   linkdown IFNAME                               receive() calls while the link is up, down, up again
//   fanout IFNAME GROUP DURATION_MS               two sockets in one fanout group: TCP SYNs each saw
//   offload IFNAME                                turn receive coalescing off, then restore it
//   forwarding IFNAME                             the IPv4 forwarding state and warning
//   overflow IFNAME FLAG_FILE                     read nothing until FLAG_FILE exists (the smallest
//                                                 receive buffer), then drain: test frames taken and
//                                                 the kernel's drops, collected twice
//   blast IFNAME DST_MAC COUNT [VIP]              send COUNT test frames, 64 at a time, 1 ms apart (as flood)
//   filter IFNAME FLAG_FILE VIPS VIPS_AFTER       receive through the VIP socket filter of VIPS (comma
//                                                 separated, "-" for none) until FLAG_FILE exists, swap
//                                                 to that of VIPS_AFTER, create FLAG_FILE.swapped, and
//                                                 receive until FLAG_FILE.done exists: frames each time
//   inject IFNAME HEX_FRAME...                    send these frames in one batch
import { writeFileSync } from "node:fs";
import { encodeProgram, vipFrameFilter } from "../../src/bpf/classic.ts";
import { openFrameSender } from "../../ffi/frame-sender.ts";
import { openPacketIO, type AfPacketIO, type PacketIOOptions } from "../../ffi/packet-io/open.ts";
import { FRAME_TRUNCATED } from "../../src/dataplane/packet-io.ts";
import { interfaceMac } from "../../ffi/interface.ts";
import type { PacketEngine } from "../../src/config/model.ts";
import { disableReceiveCoalescing, readFeatures } from "../../src/host/offload.ts";
import { ip, udpFrame } from "../fixtures/frames.ts";
import { waitForFileSync } from "../fixtures/flag-file.ts";
import { forwardingWarning, readIpv4Forwarding } from "../../src/host/sysctl.ts";
import { runCommandSync } from "../fixtures/process.ts";

/** IEEE 802 local experimental EtherType: no kernel protocol handler takes these frames. */
export const TEST_ETHERTYPE = 0x88b5;

export interface FrameSummary {
  length: number;
  pktType: number;
  flags: number;
  source: string;
  etherType: number;
  ipProtocol?: number;
  destinationIp?: string;
  tcpFlags?: number;
  destinationPort?: number;
  marker?: string;
  /** For test frames: every byte after the marker is the pattern writeTestFrame wrote. */
  intact?: boolean;
}

const [engine = "", mode = "", ifname = "", ...rest] = process.argv.slice(2);

function macText(bytes: Uint8Array, offset: number): string {
  return Array.from(bytes.subarray(offset, offset + 6), (byte) => byte.toString(16).padStart(2, "0")).join(":");
}

function parseMac(text: string): Uint8Array {
  return Uint8Array.from(text.split(":"), (part) => Number.parseInt(part, 16));
}

function summarize(io: AfPacketIO, slot: number): FrameSummary {
  const { bytes, slotSize } = io.rx;
  const at = slot * slotSize;
  const length = io.rx.lengths[slot]!;
  const etherType = (bytes[at + 12]! << 8) | bytes[at + 13]!;
  const summary: FrameSummary = {
    length,
    pktType: io.rx.pktTypes[slot]!,
    flags: io.rx.flags[slot]!,
    source: macText(bytes, at + 6),
    etherType,
  };
  if (etherType === 0x0800 && length >= 34) {
    summary.ipProtocol = bytes[at + 23]!;
    summary.destinationIp = Array.from(bytes.subarray(at + 30, at + 34)).join(".");
    const transport = at + 14 + (bytes[at + 14]! & 0x0f) * 4;
    if (summary.ipProtocol === 6 && transport + 14 <= at + length) {
      summary.destinationPort = (bytes[transport + 2]! << 8) | bytes[transport + 3]!;
      summary.tcpFlags = bytes[transport + 13]!;
    }
  }
  // A test frame's marker and pattern follow its Ethernet header, or the UDP header of one to port 9.
  const markerAt = etherType === TEST_ETHERTYPE ? 14 : summary.ipProtocol === 17 && length >= 42 && ((bytes[at + 36]! << 8) | bytes[at + 37]!) === TEST_UDP_PORT ? 42 : 0;
  if (markerAt > 0) {
    const end = Math.min(length, slotSize);
    summary.marker = new TextDecoder().decode(bytes.subarray(at + markerAt, at + end)).replace(/\0.*$/s, "");
    summary.intact = true;
    for (let offset = markerAt + summary.marker.length + 1; offset < end; offset++) {
      if (bytes[at + offset] !== patternByte(offset)) summary.intact = false;
    }
  }
  return summary;
}

/** What a test frame holds at `offset` past its marker: a pattern no copy gets right by accident. */
function patternByte(offset: number): number {
  return (offset * 7 + 3) & 0xff;
}

/** Writes a TEST_ETHERTYPE frame of `length` bytes carrying `marker` into `target` at `at`. */
function writeTestFrame(target: Uint8Array, at: number, destination: Uint8Array, source: Uint8Array, marker: string, length: number): void {
  target.fill(0, at, at + length);
  target.set(destination, at);
  target.set(source, at + 6);
  target[at + 12] = TEST_ETHERTYPE >> 8;
  target[at + 13] = TEST_ETHERTYPE & 0xff;
  const text = new TextEncoder().encode(marker).subarray(0, length - 14);
  target.set(text, at + 14);
  for (let offset = 14 + text.length + 1; offset < length; offset++) target[at + offset] = patternByte(offset);
}

/** A PacketIO on the engine the test asked for. */
function openTestIO(options: PacketIOOptions): AfPacketIO {
  return openPacketIO(engine as PacketEngine, options);
}

function ready(): void {
  console.log(JSON.stringify({ ready: true }));
}

function receiveMode(durationMs: number, slotSize?: number): void {
  const io = openTestIO({ ifname, ...(slotSize === undefined ? {} : { slotSize }) });
  ready();
  const frames: FrameSummary[] = [];
  const deadline = Date.now() + durationMs;
  while (Date.now() < deadline) {
    const count = io.receive();
    for (let slot = 0; slot < count && frames.length < 500; slot++) frames.push(summarize(io, slot));
  }
  console.log(JSON.stringify({ frames, stats: io.stats, truncatedFlag: FRAME_TRUNCATED }));
  io.close();
}

/** Sends one test frame per length from tx, marked MARKER-0..; returns what send() said. */
function sendTestFrames(io: AfPacketIO, destination: Uint8Array, marker: string, lengths: number[]): number {
  const { tx } = io;
  const ownMac = interfaceMac(ifname);
  lengths.forEach((length, slot) => {
    writeTestFrame(tx.bytes, slot * tx.slotSize, destination, ownMac, `${marker}-${slot}`, length);
    tx.lengths[slot] = length;
  });
  tx.count = lengths.length;
  return io.send();
}

function sendMode(destinationText: string, marker: string, qdiscBypass: boolean, lengths: number[]): void {
  const destination = parseMac(destinationText);
  const ownMac = interfaceMac(ifname);
  const sender = openTestIO({ ifname, receiveTimeoutMs: 50, qdiscBypass });
  // A second socket on the same interface, like a second worker: our output must not reach it.
  const watcher = openPacketIO("mmsg", { ifname, receiveTimeoutMs: 50 });
  const frameSender = openFrameSender(ifname);
  ready();
  const accepted = sendTestFrames(sender, destination, marker, lengths);
  const control = new Uint8Array(64);
  writeTestFrame(control, 0, destination, ownMac, `${marker}-control`, 64);
  frameSender.send(control, 64);
  let echoedToSender = 0;
  let echoedToWatcher = 0;
  const deadline = Date.now() + 500;
  while (Date.now() < deadline) {
    for (const [io, isSender] of [[sender, true], [watcher, false]] as const) {
      const count = io.receive();
      for (let slot = 0; slot < count; slot++) {
        if (summarize(io, slot).marker?.startsWith(marker)) {
          if (isSender) echoedToSender++;
          else echoedToWatcher++;
        }
      }
    }
  }
  console.log(JSON.stringify({ accepted, echoedToSender, echoedToWatcher, stats: sender.stats, sendsWith: sender.sendsWith }));
  frameSender.close();
  watcher.close();
  sender.close();
}

function forwardMode(durationMs: number): void {
  const io = openTestIO({ ifname });
  ready();
  const started = process.cpuUsage();
  let forwarded = 0;
  let firstAt = 0;
  let lastAt = 0;
  const deadline = Date.now() + durationMs;
  const { rx, tx } = io;
  while (Date.now() < deadline) {
    const count = io.receive();
    let out = 0;
    for (let slot = 0; slot < count; slot++) {
      const from = slot * rx.slotSize;
      if (((rx.bytes[from + 12]! << 8) | rx.bytes[from + 13]!) !== TEST_ETHERTYPE) continue;
      // Back to where it came from: swap the MAC addresses in place and send the rx slot.
      for (let byte = 0; byte < 6; byte++) {
        const destination = rx.bytes[from + byte]!;
        rx.bytes[from + byte] = rx.bytes[from + 6 + byte]!;
        rx.bytes[from + 6 + byte] = destination;
      }
      tx.rxSlots[out] = slot;
      tx.lengths[out++] = rx.lengths[slot]!;
    }
    if (out === 0) continue;
    if (firstAt === 0) firstAt = performance.now();
    tx.count = out;
    forwarded += io.send();
    lastAt = performance.now();
  }
  const cpu = process.cpuUsage(started);
  console.log(JSON.stringify({ forwarded, userMicros: cpu.user, systemMicros: cpu.system, busyMs: lastAt - firstAt, stats: io.stats }));
  io.close();
}

/** The UDP port of test datagrams: their payload is a test frame's marker and pattern. */
const TEST_UDP_PORT = 9;

/** A 64-byte UDP datagram to `vip`:9 whose payload holds `marker` and the test pattern. */
function testDatagram(destination: string, source: Uint8Array, vip: string, marker: string): Uint8Array {
  const frame = new Uint8Array(64);
  for (let offset = 42; offset < 64; offset++) frame[offset] = patternByte(offset);
  frame.set(new TextEncoder().encode(`${marker}\0`), 42);
  const sourceMac = Array.from(source, (byte) => byte.toString(16).padStart(2, "0")).join(":");
  return udpFrame({ src: sourceMac, dst: destination, srcIp: "192.0.2.2", dstIp: vip, srcPort: TEST_UDP_PORT, dstPort: TEST_UDP_PORT, payload: frame.subarray(42) });
}

/** A PacketIO whose every tx slot holds a 64-byte test frame marked `marker` (to `vip` if given), ready to send. */
function openFilledSender(destinationText: string, marker: string, vip?: string): AfPacketIO {
  const destination = parseMac(destinationText);
  const ownMac = interfaceMac(ifname);
  const io = openPacketIO("mmsg", { ifname, receiveTimeoutMs: 20 });
  ready();
  const { tx } = io;
  const datagram = vip === undefined ? undefined : testDatagram(destinationText, ownMac, vip, marker);
  for (let slot = 0; slot < tx.slotCount; slot++) {
    if (datagram) tx.bytes.set(datagram, slot * tx.slotSize);
    else writeTestFrame(tx.bytes, slot * tx.slotSize, destination, ownMac, marker, 64);
    tx.lengths[slot] = 64;
  }
  return io;
}

function floodMode(destinationText: string, count: number, vip?: string): void {
  const io = openFilledSender(destinationText, "flood", vip);
  const { tx } = io;
  let sent = 0;
  let returned = 0;
  const countReturned = () => {
    const received = io.receive();
    for (let slot = 0; slot < received; slot++) {
      const frame = summarize(io, slot);
      if (frame.marker === "flood" && frame.intact) returned++;
    }
  };
  const started = performance.now();
  while (sent < count) {
    tx.count = Math.min(tx.slotCount, count - sent);
    sent += io.send();
    // Pace the sender by draining what came back, so neither side's queue overflows.
    countReturned();
  }
  const idleUntil = () => Date.now() + 300;
  let deadline = idleUntil();
  while (Date.now() < deadline && returned < sent) {
    const before = returned;
    countReturned();
    if (returned > before) deadline = idleUntil();
  }
  console.log(JSON.stringify({ sent, returned, wallMs: performance.now() - started, stats: io.stats }));
  io.close();
}

/** Round trips of single frames through a forwarder on an otherwise idle link, in ms. */
function pingMode(destinationText: string, count: number, gapMs: number): void {
  const destination = parseMac(destinationText);
  const ownMac = interfaceMac(ifname);
  const io = openTestIO({ ifname, receiveTimeoutMs: 50 });
  ready();
  const { tx } = io;
  const roundTrips: number[] = [];
  let lost = 0;
  for (let ping = 0; ping < count; ping++) {
    // The gap lets both sides go back to sleep in poll/recvmmsg before the next frame.
    Bun.sleepSync(gapMs);
    const marker = `ping-${ping}`;
    writeTestFrame(tx.bytes, 0, destination, ownMac, marker, 64);
    tx.lengths[0] = 64;
    tx.count = 1;
    const sentAt = performance.now();
    if (io.send() !== 1) throw new Error(`ping ${ping} not sent: ${JSON.stringify(io.stats)}`);
    let echoed = false;
    while (!echoed && performance.now() - sentAt < 1000) {
      const received = io.receive();
      for (let slot = 0; slot < received; slot++) {
        if (summarize(io, slot).marker === marker) echoed = true;
      }
    }
    if (echoed) roundTrips.push(performance.now() - sentAt);
    else lost++;
  }
  console.log(JSON.stringify({ roundTrips, lost, stats: io.stats }));
  io.close();
}

function setLink(state: "up" | "down"): void {
  runCommandSync(["ip", "link", "set", ifname, state]);
}

/**
 * Frames sent while the link is down are refused and counted, and none of them goes out later:
 * 3 frames (MARKER-down-*) with the link down, then 1 (MARKER-after-0) once it is up again.
 */
function sendDownMode(destinationText: string, marker: string): void {
  const destination = parseMac(destinationText);
  const io = openTestIO({ ifname, receiveTimeoutMs: 50 });
  ready();
  setLink("down");
  let acceptedWhileDown: number;
  try {
    acceptedWhileDown = sendTestFrames(io, destination, `${marker}-down`, [64, 64, 64]);
  } finally {
    setLink("up");
  }
  const whileDown = { ...io.stats };
  // Until the peer's carrier is seen the link may refuse frames; retry for up to a second.
  let acceptedAfter = 0;
  for (let attempt = 0; attempt < 20 && acceptedAfter === 0; attempt++) {
    Bun.sleepSync(50);
    acceptedAfter = sendTestFrames(io, destination, `${marker}-after`, [64]);
  }
  console.log(JSON.stringify({ acceptedWhileDown, whileDown, acceptedAfter, stats: io.stats }));
  io.close();
}

/**
 * How often receive() returns while the link is up and idle, down, and up again (500 ms each):
 * a backend that does not clear the link-down error would return at once, thousands of times.
 */
function linkDownMode(): void {
  const io = openTestIO({ ifname });
  ready();
  const calls = (ms: number) => {
    let made = 0;
    const deadline = performance.now() + ms;
    while (performance.now() < deadline) {
      io.receive();
      made++;
    }
    return made;
  };
  const idleCalls = calls(500);
  setLink("down");
  let downCalls: number;
  try {
    downCalls = calls(500);
  } finally {
    setLink("up");
  }
  const upCalls = calls(500);
  console.log(JSON.stringify({ idleCalls, downCalls, upCalls, receiveErrors: io.stats.receiveErrors }));
  io.close();
}

function fanoutMode(group: number, durationMs: number): void {
  const members = [0, 1].map(() => openPacketIO("mmsg", { ifname, fanoutGroup: group, receiveTimeoutMs: 20 }));
  ready();
  const synSourcePorts = members.map((): number[] => []);
  const deadline = Date.now() + durationMs;
  while (Date.now() < deadline) {
    members.forEach((io, member) => {
      const count = io.receive();
      for (let slot = 0; slot < count; slot++) {
        const frame = summarize(io, slot);
        if (frame.tcpFlags !== 0x02) continue;
        const transport = slot * io.rx.slotSize + 34;
        synSourcePorts[member]!.push((io.rx.bytes[transport]! << 8) | io.rx.bytes[transport + 1]!);
      }
    });
  }
  console.log(JSON.stringify({ synSourcePorts }));
  for (const io of members) io.close();
}

function offloadMode(): void {
  ready();
  const change = disableReceiveCoalescing(ifname);
  const groWhileRunning = readFeatures(ifname).get("generic-receive-offload")?.on;
  const restored = change.restore();
  const restoredAgain = change.restore();
  const groAfterRestore = readFeatures(ifname).get("generic-receive-offload")?.on;
  console.log(JSON.stringify({ turnedOff: change.turnedOff, stillOn: change.stillOn, groWhileRunning, restored, restoredAgain, groAfterRestore }));
}

function forwardingMode(): void {
  ready();
  const forwarding = readIpv4Forwarding(ifname);
  console.log(JSON.stringify({ forwarding, warning: forwardingWarning(ifname, forwarding) ?? null }));
}

/** Lets the socket's queue (or ring) fill while a blast arrives, then counts what got through. */
function overflowMode(flagFile: string): void {
  const io = openTestIO({ ifname, receiveTimeoutMs: 50, receiveBufferBytes: 4096 });
  ready();
  waitForFileSync(flagFile);
  let taken = 0;
  for (let empty = 0; empty < 3; ) {
    const count = io.receive();
    if (count === 0) empty++;
    for (let slot = 0; slot < count; slot++) if (summarize(io, slot).marker === "blast") taken++;
  }
  const kernelDrops = io.collectKernelDrops();
  const kernelDropsAgain = io.collectKernelDrops();
  console.log(JSON.stringify({ taken, kernelDrops, kernelDropsAgain, stats: io.stats }));
  io.close();
}

function blastMode(destinationText: string, count: number, vip?: string): void {
  const io = openFilledSender(destinationText, "blast", vip);
  const { tx } = io;
  let sent = 0;
  while (sent < count) {
    tx.count = Math.min(tx.slotCount, count - sent);
    sent += io.send();
    // The peer's backlog (netdev_max_backlog) must not be what drops them.
    Bun.sleepSync(1);
  }
  console.log(JSON.stringify({ sent, stats: io.stats }));
  io.close();
}

/** The VIP socket filter of a comma-separated list of addresses ("-": none). */
function vipFilterOf(list: string): Uint8Array {
  const vips = list === "-" ? [] : list.split(",").map(ip);
  return encodeProgram(vipFrameFilter(vips));
}

function filterMode(flagFile: string, vips: string, vipsAfter: string): void {
  const io = openTestIO({ ifname, receiveTimeoutMs: 20, socketFilter: vipFilterOf(vips) });
  ready();
  const before: FrameSummary[] = [];
  const after: FrameSummary[] = [];
  const takeInto = (frames: FrameSummary[]) => () => {
    const count = io.receive();
    for (let slot = 0; slot < count; slot++) frames.push(summarize(io, slot));
  };
  waitForFileSync(flagFile, takeInto(before));
  io.setSocketFilter(vipFilterOf(vipsAfter));
  writeFileSync(`${flagFile}.swapped`, "");
  waitForFileSync(`${flagFile}.done`, takeInto(after));
  for (let empty = 0; empty < 3; ) if (io.receive() === 0) empty++;
  console.log(JSON.stringify({ before, after, kernelDrops: io.collectKernelDrops() }));
  io.close();
}

function injectMode(frames: string[]): void {
  const io = openTestIO({ ifname, receiveTimeoutMs: 20 });
  ready();
  const { tx } = io;
  frames.forEach((hex, slot) => {
    tx.bytes.set(Buffer.from(hex, "hex"), slot * tx.slotSize);
    tx.lengths[slot] = hex.length / 2;
  });
  tx.count = frames.length;
  console.log(JSON.stringify({ accepted: io.send() }));
  io.close();
}

switch (mode) {
  case "receive":
    receiveMode(Number(rest[0]), rest[1] === undefined ? undefined : Number(rest[1]));
    break;
  case "send":
    sendMode(rest[0] ?? "", rest[1] ?? "", rest[2] === "bypass", rest.slice(3).map(Number));
    break;
  case "senddown":
    sendDownMode(rest[0] ?? "", rest[1] ?? "");
    break;
  case "forward":
    forwardMode(Number(rest[0]));
    break;
  case "flood":
    floodMode(rest[0] ?? "", Number(rest[1]), rest[2]);
    break;
  case "ping":
    pingMode(rest[0] ?? "", Number(rest[1]), Number(rest[2]));
    break;
  case "linkdown":
    linkDownMode();
    break;
  case "fanout":
    fanoutMode(Number(rest[0]), Number(rest[1]));
    break;
  case "offload":
    offloadMode();
    break;
  case "forwarding":
    forwardingMode();
    break;
  case "overflow":
    overflowMode(rest[0] ?? "");
    break;
  case "blast":
    blastMode(rest[0] ?? "", Number(rest[1]), rest[2]);
    break;
  case "filter":
    filterMode(rest[0] ?? "", rest[1] ?? "-", rest[2] ?? "-");
    break;
  case "inject":
    injectMode(rest);
    break;
  default:
    console.error(`unknown mode ${JSON.stringify(mode)}`);
    process.exit(2);
}

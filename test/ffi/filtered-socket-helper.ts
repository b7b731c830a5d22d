// Runs inside a test namespace for filtered-socket.netns.test.ts.
//   receive IFNAME MS: opens a socket that takes VRRP adverts only (and holds the VRRP group and
//     a virtual MAC as memberships), prints {"ready":true}, then after MS ms one line: the frames
//     it got, as {length, protocol, destination}.
//   send IFNAME MAC: sends a VRRP advert, an ICMP echo, an ARP request and a protocol-112 frame to
//     another group, then prints {"sent":4}.
import { openFilteredSocket } from "../../ffi/filtered-socket.ts";
import { openFrameSender } from "../../ffi/frame-sender.ts";
import { PACKET_MR_MULTICAST, PACKET_MR_UNICAST } from "../../ffi/layout.ts";
import { encodeProgram, ipv4ProtocolFilter } from "../../src/bpf/classic.ts";
import { arpFrame, icmpFrame, ip, ipv4Frame, mac } from "../fixtures/frames.ts";

const [mode, ifname, argument] = process.argv.slice(2);
const VRRP_GROUP = "224.0.0.18";
const print = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);

if (mode === "receive") {
  const socket = openFilteredSocket(ifname!, encodeProgram(ipv4ProtocolFilter(112, ip(VRRP_GROUP))), [
    { type: PACKET_MR_MULTICAST, mac: mac("01:00:5e:00:00:12") },
    { type: PACKET_MR_UNICAST, mac: mac("00:00:5e:00:01:33") },
  ]);
  print({ ready: true });
  const frames: { length: number; protocol: number; destination: string }[] = [];
  const buffer = new Uint8Array(2048);
  const until = Date.now() + Number(argument);
  while (Date.now() < until) {
    const length = socket.receive(buffer);
    if (length === 0) {
      await Bun.sleep(10);
      continue;
    }
    frames.push({ length, protocol: buffer[23]!, destination: `${buffer[30]}.${buffer[31]}.${buffer[32]}.${buffer[33]}` });
  }
  socket.close();
  print({ frames });
} else if (mode === "send") {
  const sender = openFrameSender(ifname!);
  const src = argument!;
  const advert = new Uint8Array(20).fill(0x21);
  const frames = [
    ipv4Frame({ src, dst: "01:00:5e:00:00:12", srcIp: "192.0.2.2", dstIp: VRRP_GROUP, ttl: 255 }, 112, advert),
    icmpFrame({ src, dst: "ff:ff:ff:ff:ff:ff", srcIp: "192.0.2.2", dstIp: "192.0.2.1", type: 8 }),
    arpFrame({ op: 1, senderMac: src, senderIp: "192.0.2.2", targetIp: "192.0.2.1" }),
    ipv4Frame({ src, dst: "01:00:5e:00:00:13", srcIp: "192.0.2.2", dstIp: "224.0.0.19", ttl: 255 }, 112, advert),
  ];
  for (const frame of frames) sender.send(frame, frame.length);
  sender.close();
  print({ sent: frames.length });
}

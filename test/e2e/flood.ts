// A frame flood for the load tests: TCP SYNs to VIP:PORT from changing client addresses,
// addressed to bng's MAC, sent in batches of 64 through the same AF_PACKET PacketIO bng uses,
// paced at RATE frames/s for SECONDS. Unpaced, one thread's sendmmsg loop on veth overruns the
// receive backlog and starves the softirq that would deliver the frames: almost nothing arrives.
// Run inside a lab namespace:
//   bun test/e2e/flood.ts IFNAME DST_MAC VIP PORT SECONDS RATE [SOURCES [SOURCE_BASE]]
// Sources cycle through SOURCES addresses from SOURCE_BASE (default 65,536 from 198.18.0.0).
// Prints {"sent": N, "seconds": S} when done. Only ever addresses the lab's own network.
import { openPacketIO } from "../../ffi/packet-io/open.ts";
import { writeIpv4HeaderChecksum } from "../../src/dataplane/checksum.ts";
import { ip, tcpFrame, TCP_SYN } from "../fixtures/frames.ts";

const [ifname, dstMac, vip, portText, secondsText, rateText, sourcesText = "65536", sourceBase = "198.18.0.0"] = process.argv.slice(2);
if (!ifname || !dstMac || !vip || !portText || !secondsText || !rateText) {
  console.error("usage: flood.ts IFNAME DST_MAC VIP PORT SECONDS RATE [SOURCES [SOURCE_BASE]]");
  process.exit(2);
}
const sources = Number(sourcesText);
const io = openPacketIO("mmsg", { ifname, batchSize: 64 });
const template = tcpFrame({ src: "02:00:c6:12:ff:01", dst: dstMac, srcIp: "198.18.1.1", dstIp: vip, srcPort: 1024, dstPort: Number(portText), flags: TCP_SYN });
const { tx } = io;
for (let slot = 0; slot < tx.slotCount; slot++) {
  tx.bytes.set(template, slot * tx.slotSize);
  tx.lengths[slot] = template.length;
}
// Source address byte offsets: Ethernet 14 + IPv4 source at 12.
const SOURCE_AT = 14 + 12;
const base = ip(sourceBase);
let sent = 0;
let client = 0;
const batchIntervalMs = (tx.slotCount / Number(rateText)) * 1000;
const start = performance.now();
const deadline = start + Number(secondsText) * 1000;
for (let batch = 0; performance.now() < deadline; batch++) {
  const due = start + batch * batchIntervalMs;
  while (performance.now() < due) Bun.sleepSync(0);
  for (let slot = 0; slot < tx.slotCount; slot++) {
    // `sources` distinct clients from `base`. The IP header checksum must stay valid: a
    // bridge with br_netfilter drops frames whose header checksum is wrong.
    const address = (base + (client++ % sources)) >>> 0;
    const at = slot * tx.slotSize + SOURCE_AT;
    tx.bytes[at] = address >>> 24;
    tx.bytes[at + 1] = (address >>> 16) & 255;
    tx.bytes[at + 2] = (address >>> 8) & 255;
    tx.bytes[at + 3] = address & 255;
    writeIpv4HeaderChecksum(tx.bytes, slot * tx.slotSize + 14);
  }
  tx.count = tx.slotCount;
  sent += io.send();
}
io.close();
console.log(JSON.stringify({ sent, seconds: Number(secondsText) }));

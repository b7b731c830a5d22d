// tcpdump's text output (`tcpdump -tt -nn -e -l`) read back as frames, for the lab's captures.

export type ArpSummary =
  | { op: "request"; targetIp: string; senderIp: string }
  | { op: "reply"; senderIp: string; senderMac: string };

export interface IpSummary {
  src: string;
  dst: string;
  protocol: "tcp" | "udp" | "icmp" | "other";
  srcPort?: number;
  dstPort?: number;
  /** tcpdump's flag letters, e.g. "S", "S.", "P.", "R". */
  tcpFlags?: string;
}

export interface CapturedFrame {
  /** Seconds since the epoch. */
  time: number;
  srcMac: string;
  dstMac: string;
  /** tcpdump's ethertype name: "IPv4", "ARP", …. */
  ethertype: string;
  length: number;
  /** tcpdump's text after the link-layer header. */
  summary: string;
  arp?: ArpSummary;
  ip?: IpSummary;
}

const FRAME_LINE = /^(\d+\.\d+) ([0-9a-f:]{17}) > ([0-9a-f:]{17}), ethertype (\S+) \(0x[0-9a-f]{4}\), length (\d+): (.*)$/;
const ARP_REQUEST = /^Request who-has (\S+)(?: \([^)]*\))? tell (\S+),/;
const ARP_REPLY = /^Reply (\S+) is-at ([0-9a-f:]{17}),/;
const IPV4_ENDPOINTS = /^(\d+\.\d+\.\d+\.\d+)(?:\.(\d+))? > (\d+\.\d+\.\d+\.\d+)(?:\.(\d+))?: (.*)$/;

/** One line of `tcpdump -tt -nn -e`; null for lines that are not an Ethernet frame. */
export function parseTcpdumpLine(line: string): CapturedFrame | null {
  const frame = FRAME_LINE.exec(line);
  if (!frame) return null;
  const [, time = "", srcMac = "", dstMac = "", ethertype = "", length = "", summary = ""] = frame;
  const parsed: CapturedFrame = { time: Number(time), srcMac, dstMac, ethertype, length: Number(length), summary };
  if (ethertype === "ARP") {
    const request = ARP_REQUEST.exec(summary);
    const reply = ARP_REPLY.exec(summary);
    if (request) parsed.arp = { op: "request", targetIp: request[1] ?? "", senderIp: request[2] ?? "" };
    else if (reply) parsed.arp = { op: "reply", senderIp: reply[1] ?? "", senderMac: reply[2] ?? "" };
  } else if (ethertype === "IPv4") {
    const endpoints = IPV4_ENDPOINTS.exec(summary);
    if (endpoints) {
      const [, src = "", srcPort, dst = "", dstPort, rest = ""] = endpoints;
      const tcpFlags = /^Flags \[([^\]]*)\]/.exec(rest)?.[1];
      const protocol = tcpFlags !== undefined ? "tcp" : srcPort !== undefined ? "udp" : rest.startsWith("ICMP") ? "icmp" : "other";
      parsed.ip = { src, dst, protocol };
      if (srcPort !== undefined) parsed.ip.srcPort = Number(srcPort);
      if (dstPort !== undefined) parsed.ip.dstPort = Number(dstPort);
      if (tcpFlags !== undefined) parsed.ip.tcpFlags = tcpFlags;
    }
  }
  return parsed;
}

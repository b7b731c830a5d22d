// ICMP echo over a non-blocking socket bound to bng's `real` address (the `ping` check).
//
// Two socket kinds: an unprivileged datagram ICMP socket (allowed when the process's group is
// inside net.ipv4.ping_group_range; the kernel then owns the identifier and filters replies),
// and, when that is refused, a raw ICMP socket (root / CAP_NET_RAW). Nothing here ever blocks:
// every receive uses MSG_DONTWAIT and callers learn readiness from poll(2) with timeout 0.
import { ipToString } from "../src/config/model.ts";
import { writeIcmpChecksum } from "../src/dataplane/checksum.ts";
import { ICMP_DEST_UNREACHABLE, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, ICMP_TIME_EXCEEDED } from "../src/dataplane/frame.ts";
import { EAGAIN } from "./errors.ts";
import { describeErrno, sockaddrIn } from "./inet-socket.ts";
import { AF_INET, ICMP_FILTER, IPPROTO_ICMP, MSG_DONTWAIT, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK, SOCK_RAW, SOCKADDR_IN, SOL_RAW } from "./layout.ts";
import { lastErrno, libc } from "./libc.ts";

/** What a receive drained from an echo socket: a reply, or an ICMP error about one of our requests. */
export type EchoMessage =
  | { kind: "reply"; from: number; sequence: number }
  | { kind: "error"; about: number; sequence: number; cause: string };

const UNREACHABLE_CAUSES: readonly string[] = [
  "network unreachable",
  "host unreachable",
  "protocol unreachable",
  "port unreachable",
  "fragmentation needed",
  "source route failed",
  "network unknown",
  "host unknown",
  "source host isolated",
  "network prohibited",
  "host prohibited",
  "network unreachable for TOS",
  "host unreachable for TOS",
  "administratively prohibited",
];

function icmpErrorCause(type: number, code: number, from: number): string {
  const what =
    type === ICMP_DEST_UNREACHABLE ? (UNREACHABLE_CAUSES[code] ?? `unreachable (code ${code})`) : "time exceeded";
  return `${what} (ICMP from ${ipToString(from)})`;
}

export class IcmpSocketError extends Error {}

const ECHO_PAYLOAD = new TextEncoder().encode("bng health check");
const RECEIVE_BUFFER_SIZE = 1500;
const MAX_ERRORS_PER_DRAIN = 8;

/** ICMP_FILTER on a raw socket: a set bit blocks that type; keep replies and the errors we attribute. */
const RAW_FILTER_MASK = ~((1 << ICMP_ECHO_REPLY) | (1 << ICMP_DEST_UNREACHABLE) | (1 << ICMP_TIME_EXCEEDED)) >>> 0;

/**
 * One non-blocking ICMP echo socket bound to a source address. Sequence numbers are the
 * caller's; replies are matched by identifier (the kernel does it for datagram sockets) and
 * returned with their sequence and sender.
 */
export class IcmpEchoSocket {
  private readonly request = new Uint8Array(8 + ECHO_PAYLOAD.length);
  private readonly receiveBuffer = new Uint8Array(RECEIVE_BUFFER_SIZE);
  private readonly fromBuffer = new Uint8Array(SOCKADDR_IN.size);
  private readonly fromLength = new Uint32Array(1);
  private closed = false;

  private constructor(
    readonly fd: number,
    readonly kind: "datagram" | "raw",
    /** For raw sockets our own choice; for datagram sockets the kernel's (the bound "port"). */
    readonly identifier: number,
    readonly source: number,
  ) {
    this.request.set(ECHO_PAYLOAD, 8);
  }

  /** Opens a socket bound to `source`: datagram if the kernel allows it, raw otherwise. */
  static open(source: number): IcmpEchoSocket {
    const address = sockaddrIn(source, 0);
    const flags = SOCK_NONBLOCK | SOCK_CLOEXEC;
    let kind: "datagram" | "raw" = "datagram";
    let fd = libc.socket(AF_INET, SOCK_DGRAM | flags, IPPROTO_ICMP);
    if (fd < 0) {
      const datagramErrno = lastErrno();
      kind = "raw";
      fd = libc.socket(AF_INET, SOCK_RAW | flags, IPPROTO_ICMP);
      if (fd < 0) {
        throw new IcmpSocketError(
          `cannot open an ICMP socket: datagram: ${describeErrno(datagramErrno)}, raw: ${describeErrno(lastErrno())}` +
            ` — run as root (CAP_NET_RAW) or allow this group: sysctl -w net.ipv4.ping_group_range="0 2147483647"`,
        );
      }
    }
    if (libc.bind(fd, address, SOCKADDR_IN.size) !== 0) {
      const errno = lastErrno();
      libc.close(fd);
      throw new IcmpSocketError(`cannot bind an ICMP socket to ${ipToString(source)}: ${describeErrno(errno)}`);
    }
    let identifier: number;
    if (kind === "raw") {
      const mask = new Uint32Array([RAW_FILTER_MASK]);
      libc.setsockopt(fd, SOL_RAW, ICMP_FILTER, mask, 4);
      // Several bng processes (or ping) may share the host: a random identifier keeps their replies apart.
      identifier = (Math.random() * 0x10000) | 0;
    } else {
      const bound = new Uint8Array(SOCKADDR_IN.size);
      const length = new Uint32Array([SOCKADDR_IN.size]);
      libc.getsockname(fd, bound, length);
      identifier = new DataView(bound.buffer).getUint16(2, false);
    }
    return new IcmpEchoSocket(fd, kind, identifier, source);
  }

  /** Sends one echo request; returns 0 or the errno of a failed send. */
  send(destination: number, sequence: number): number {
    const view = new DataView(this.request.buffer);
    view.setUint8(0, ICMP_ECHO_REQUEST);
    view.setUint8(1, 0);
    view.setUint16(2, 0);
    view.setUint16(4, this.identifier);
    view.setUint16(6, sequence & 0xffff);
    writeIcmpChecksum(this.request, 0, this.request.length);
    const sent = libc.sendto(this.fd, this.request, this.request.length, MSG_DONTWAIT, sockaddrIn(destination, 0), SOCKADDR_IN.size);
    return Number(sent) < 0 ? lastErrno() : 0;
  }

  /**
   * Drains every message waiting on the socket without blocking. Socket-level errors of a
   * datagram socket (an asynchronous ICMP error not tied to one request) are dropped: the
   * request they concern then fails by timeout.
   */
  drain(): EchoMessage[] {
    const messages: EchoMessage[] = [];
    // A pending socket error is reported once and then cleared, so a few in a row are the most
    // a healthy socket can return; more means the descriptor itself is broken.
    let errorsInARow = 0;
    for (;;) {
      this.fromLength[0] = SOCKADDR_IN.size;
      const received = Number(
        libc.recvfrom(this.fd, this.receiveBuffer, RECEIVE_BUFFER_SIZE, MSG_DONTWAIT, this.fromBuffer, this.fromLength),
      );
      if (received < 0) {
        if (lastErrno() === EAGAIN || this.closed || ++errorsInARow > MAX_ERRORS_PER_DRAIN) return messages;
        continue;
      }
      errorsInARow = 0;
      const message = this.kind === "raw" ? this.parseRaw(received) : this.parseDatagram(received);
      if (message) messages.push(message);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    libc.close(this.fd);
  }

  private parseDatagram(length: number): EchoMessage | undefined {
    if (length < 8 || this.receiveBuffer[0] !== ICMP_ECHO_REPLY) return undefined;
    const view = new DataView(this.receiveBuffer.buffer);
    return { kind: "reply", from: new DataView(this.fromBuffer.buffer).getUint32(4, false), sequence: view.getUint16(6) };
  }

  private parseRaw(length: number): EchoMessage | undefined {
    const packet = this.receiveBuffer;
    const view = new DataView(packet.buffer);
    const headerLength = (packet[0]! & 0x0f) * 4;
    if (length < headerLength + 8) return undefined;
    const from = view.getUint32(12);
    const type = packet[headerLength]!;
    if (type === ICMP_ECHO_REPLY) {
      if (view.getUint16(headerLength + 4) !== this.identifier) return undefined;
      return { kind: "reply", from, sequence: view.getUint16(headerLength + 6) };
    }
    // An error quotes the offending IP header and the first 8 bytes of our echo request.
    const quoted = headerLength + 8;
    if (length < quoted + 20) return undefined;
    const quotedHeaderLength = (packet[quoted]! & 0x0f) * 4;
    const quotedIcmp = quoted + quotedHeaderLength;
    if (length < quotedIcmp + 8 || packet[quoted + 9] !== IPPROTO_ICMP || packet[quotedIcmp] !== ICMP_ECHO_REQUEST) return undefined;
    if (view.getUint16(quotedIcmp + 4) !== this.identifier) return undefined;
    return {
      kind: "error",
      about: view.getUint32(quoted + 16),
      sequence: view.getUint16(quotedIcmp + 6),
      cause: icmpErrorCause(type, packet[headerLength + 1]!, from),
    };
  }
}

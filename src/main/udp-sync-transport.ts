// Session sync's datagrams over UDP (node:dgram, on every runtime bng supports): bound to this
// node's real address, sent to the peer's, both on SYNC_PORT.
import { createSocket } from "node:dgram";
import { ipToString } from "../config/model.ts";
import { dottedAddress } from "../config/values.ts";
import { SYNC_PORT, type SyncTransport } from "../control/session-sync.ts";
import type { Logger } from "../log/logger.ts";

export function openUdpSyncTransport(realAddress: number, peerAddress: number, logger: Logger): SyncTransport {
  const socket = createSocket({ type: "udp4", reuseAddr: false });
  const peer = ipToString(peerAddress);
  let handler: ((datagram: Uint8Array, length: number, sourceIp: number) => void) | undefined;
  socket.on("message", (message, remote) => handler?.(message, message.length, dottedAddress(remote.address) ?? 0));
  socket.on("error", (error) => logger.error("sync-socket-failed", { address: `${ipToString(realAddress)}:${SYNC_PORT}`, error: error.message }));
  socket.bind(SYNC_PORT, ipToString(realAddress));
  return {
    send(datagram, length) {
      // A copy: the encoder reuses its buffer for the next datagram before this one is sent.
      socket.send(datagram.slice(0, length), SYNC_PORT, peer);
    },
    onDatagram(next) {
      handler = next;
    },
    close() {
      socket.close();
    },
  };
}

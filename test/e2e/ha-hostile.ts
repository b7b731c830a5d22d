// Hostile traffic against a VRRP pair, run inside a lab namespace by ha.test.ts:
//   sync PEER KEY: session-sync datagrams to PEER:2771 from this namespace's address: 50 of
//     random bytes, one signed with a wrong key, one from a stale epoch (a replayed batch), each
//     claiming a session; prints {"sent":N}.
//   adverts IFNAME COUNT: COUNT VRRP adverts for VRID 51 at priority 254 from 172.16.1.99 with a
//     wrong checksum, sent as fast as the socket takes them; prints {"sent":COUNT}.
import { createSocket } from "node:dgram";
import { openFrameSender } from "../../ffi/frame-sender.ts";
import { SYNC_PORT } from "../../src/control/session-sync.ts";
import { MAX_SYNC_DATAGRAM, SyncEncoder } from "../../src/ha/sync-message.ts";
import { createVrrpRouter, writeVrrpAdvert } from "../../src/ha/vrrp-advert.ts";
import { ip } from "../fixtures/frames.ts";

const [mode, first, second] = process.argv.slice(2);
const print = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);

if (mode === "sync") {
  const peer = first!;
  const socket = createSocket("udp4");
  const datagrams: Uint8Array[] = [];
  let seed = 99;
  const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) & 0xff);
  for (let i = 0; i < 50; i++) datagrams.push(Uint8Array.from({ length: 16 + i * 9 }, random));
  const signed = (key: string, epochMs: number) => {
    const encoder = new SyncEncoder({ buffer: new Uint8Array(MAX_SYNC_DATAGRAM + 64), senderId: ip("172.16.1.252"), epochMs, key });
    encoder.addUpsert(1, ip("203.0.113.66"), 0, 1, 0);
    return encoder.buffer.slice(0, encoder.finishBatch());
  };
  datagrams.push(signed(`${second} but wrong`, Date.now()));
  // An epoch before the running peer's: what a replay of an old node's batch looks like.
  datagrams.push(signed(second!, 1));
  for (const datagram of datagrams) await new Promise<void>((resolve) => socket.send(datagram, SYNC_PORT, peer, () => resolve()));
  socket.close();
  print({ sent: datagrams.length });
} else if (mode === "adverts") {
  const sender = openFrameSender(first!);
  const count = Number(second);
  const router = createVrrpRouter({ vrid: 51, intervalS: 1, realAddress: ip("172.16.1.99"), addresses: [ip("172.16.1.10")] });
  const frame = new Uint8Array(128);
  for (let i = 0; i < count; i++) {
    const length = writeVrrpAdvert(frame, 0, router, 254, i);
    // The VRRP checksum, off by one.
    frame[41] = frame[41]! ^ 1;
    try {
      sender.send(frame, length);
    } catch {
      // A full queue: the flood goes on.
    }
  }
  sender.close();
  print({ sent: count });
}

// The rings of ffi/packet-io/ring.ts without a kernel. Their geometry for the slot sizes bng uses: what the
// kernel accepts (aligned frames, page-aligned blocks, frame count = frames per block x blocks),
// no overlap, room for each ring's headers before the frame, at most 16 MiB. And the send ring's
// protocol, with this test playing the kernel's part on a ring in ordinary memory: what a frame
// looks like when it is handed over, which frames are dropped, and how frames the kernel did not
// take are given back, also across the ring's end.
import { describe, expect, test } from "bun:test";
import { createPacketIOStats } from "../../src/dataplane/packet-io.ts";
import { EMSGSIZE } from "../../ffi/errors.ts";
import { TP_STATUS_AVAILABLE, TP_STATUS_SEND_REQUEST, TP_STATUS_SENDING, TPACKET2_HDR, VIRTIO_NET_HDR } from "../../ffi/layout.ts";
import { native } from "../../ffi/native.ts";
import { createSendRing, putInSendRing, receiveRingGeometry, sendRingGeometry, slotViews, takeBackUnsent, type MappedRing } from "../../ffi/packet-io/ring.ts";
import { createTxBatch } from "../../src/dataplane/packet-io.ts";

const RINGS: { ring: string; geometryOf: (slotSize: number) => ReturnType<typeof receiveRingGeometry>; headroom: number; frames: number }[] = [
  // Receive: tpacket2_hdr, sockaddr_ll, the kernel's room and PACKET_RESERVE fit in 128 bytes.
  { ring: "receive", geometryOf: receiveRingGeometry, headroom: 128, frames: 2048 },
  // Send, batches of 64: tpacket2_hdr, the 2 bytes to tp_mac and the 10-byte virtio_net_hdr take 44 bytes.
  { ring: "send", geometryOf: (slotSize) => sendRingGeometry(slotSize, 64), headroom: 44, frames: 512 },
];

describe.each(RINGS)("$ring ring geometry", ({ geometryOf, headroom, frames }) => {
  test.each([128, 2048, 9018 + 46, 65536])("slots of %d bytes", (slotSize) => {
    const { frameSize, blockSize, blockCount, frameCount, offsets, size } = geometryOf(slotSize);
    expect(frameSize % 16).toBe(0);
    expect(frameSize).toBeGreaterThanOrEqual(slotSize + headroom);
    expect(blockSize % 65536).toBe(0);
    const framesPerBlock = Math.floor(blockSize / frameSize);
    expect(frameCount).toBe(framesPerBlock * blockCount);
    // The ring's frame count, or as many as 16 MiB holds for jumbo slots.
    if (frameCount < frames) expect(size).toBeGreaterThan((16 << 20) - blockSize);
    else expect(frameCount - framesPerBlock).toBeLessThan(frames);
    expect(size).toBeLessThanOrEqual(16 << 20);
    expect(size).toBe(blockSize * blockCount);
    expect(offsets.length).toBe(frameCount);
    for (let frame = 0; frame < frameCount; frame++) {
      const at = offsets[frame]!;
      // Inside one block, after the previous frame.
      expect(Math.floor(at / blockSize)).toBe(Math.floor((at + frameSize - 1) / blockSize));
      if (frame > 0) expect(at).toBeGreaterThanOrEqual(offsets[frame - 1]! + frameSize);
    }
    expect(offsets[frameCount - 1]! + frameSize).toBeLessThanOrEqual(size);
  });
});

describe("the rings for 2,048-byte slots", () => {
  test("receive: 30 frames of 2,176 bytes per 64 KiB block, 2,070 frames, about 4.3 MiB", () => {
    const geometry = receiveRingGeometry(2048);
    expect(geometry.frameSize).toBe(2176);
    expect(geometry.blockCount).toBe(69);
    expect(geometry.frameCount).toBe(2070);
    expect(geometry.size).toBe(69 * 65536);
  });

  test("send: 8 batches, 31 frames of 2,096 bytes per 64 KiB block", () => {
    expect(sendRingGeometry(2048, 64)).toMatchObject({ frameSize: 2096, frameCount: 17 * 31, size: 17 * 65536 });
    expect(sendRingGeometry(2048, 256)).toMatchObject({ frameCount: 67 * 31, size: 67 * 65536 });
  });
});

/** A send ring of `frameCount` frames for `slotSize`-byte slots, and the batches that feed it. */
function sendRingLab(frameCount: number, slotSize = 256) {
  const frameSize = Math.ceil((44 + slotSize) / 16) * 16;
  const offsets = Uint32Array.from({ length: frameCount }, (_, frame) => frame * frameSize);
  const memory = new ArrayBuffer(frameCount * frameSize);
  const ring = createSendRing(memory, native.addressOf(new Uint8Array(memory)), offsets);
  const rx = createTxBatch(8, slotSize);
  const tx = createTxBatch(8, slotSize);
  const slotPointers = (batch: typeof rx) => Array.from({ length: batch.slotCount }, (_, slot) => native.pointer(native.addressOf(batch.bytes) + slot * batch.slotSize));
  const sources = slotViews(rx, tx, slotPointers(rx), slotPointers(tx));
  const stats = createPacketIOStats();
  return { ring, rx, tx, sources, stats, memory };
}

function statusOf(ring: MappedRing, frame: number): number {
  return ring.view.getUint32(ring.offsets[frame]! + TPACKET2_HDR.status, true);
}

function setStatus(ring: MappedRing, frame: number, status: number): void {
  ring.view.setUint32(ring.offsets[frame]! + TPACKET2_HDR.status, status, true);
}

/** Frame `index`'s bytes: a length and a pattern of its own. */
function fill(bytes: Uint8Array, at: number, length: number, index: number): void {
  for (let i = 0; i < length; i++) bytes[at + i] = (index * 31 + i * 7) & 0xff;
}

/** The frame as the kernel reads it from ring frame `frame`: where tp_mac says, tp_len long, after the virtio_net_hdr. */
function handedOver(ring: MappedRing, frame: number) {
  const at = ring.offsets[frame]!;
  const dataAt = at + ring.view.getUint16(at + TPACKET2_HDR.mac, true);
  const length = ring.view.getUint32(at + TPACKET2_HDR.len, true) - VIRTIO_NET_HDR.size;
  return {
    status: statusOf(ring, frame),
    dataAt: dataAt - at,
    hdrLen: ring.view.getUint16(dataAt + VIRTIO_NET_HDR.hdrLen, true),
    otherHeaderBytes: [...ring.bytes.subarray(dataAt, dataAt + VIRTIO_NET_HDR.size)].filter((_, i) => i !== 2 && i !== 3),
    frame: ring.bytes.slice(dataAt + VIRTIO_NET_HDR.size, dataAt + VIRTIO_NET_HDR.size + length) as Uint8Array<ArrayBufferLike>,
  };
}

describe("send ring", () => {
  test("frames from the tx slots and from the rx slots they name go into consecutive ring frames, whole and marked", () => {
    const { ring, rx, tx, sources, stats } = sendRingLab(4);
    const expected: Uint8Array<ArrayBufferLike>[] = [];
    // tx slot 0: its own 60-byte frame; slot 1: rx slot 5's 61 bytes; slot 2: its own 255 bytes.
    for (const [slot, rxSlot, length] of [[0, -1, 60], [1, 5, 61], [2, -1, 255]] as const) {
      const batch = rxSlot >= 0 ? rx : tx;
      const at = (rxSlot >= 0 ? rxSlot : slot) * batch.slotSize;
      fill(batch.bytes, at, length, slot);
      expected.push(batch.bytes.slice(at, at + length));
      tx.rxSlots[slot] = rxSlot;
      tx.lengths[slot] = length;
    }
    tx.count = 3;
    expect(putInSendRing(ring, rx, tx, sources, stats)).toBe(3);
    expect(ring.next).toBe(3);
    for (let frame = 0; frame < 3; frame++) {
      expect(handedOver(ring, frame)).toEqual({
        status: TP_STATUS_SEND_REQUEST,
        dataAt: 34,
        hdrLen: expected[frame]!.length,
        otherHeaderBytes: [0, 0, 0, 0, 0, 0, 0, 0],
        frame: expected[frame]!,
      });
    }
    expect(statusOf(ring, 3)).toBe(TP_STATUS_AVAILABLE);
    expect(stats.sendDropped).toBe(0);
  });

  test("a frame longer than a page is copied whole (memcpy) but only its first 128 bytes are asked to be linear", () => {
    const { ring, rx, tx, sources, stats } = sendRingLab(2, 9024);
    fill(tx.bytes, 0, 9000, 1);
    fill(tx.bytes, tx.slotSize, 3584, 2);
    tx.lengths[0] = 9000;
    tx.lengths[1] = 3584;
    tx.count = 2;
    expect(putInSendRing(ring, rx, tx, sources, stats)).toBe(2);
    expect(handedOver(ring, 0)).toMatchObject({ hdrLen: 128, frame: tx.bytes.slice(0, 9000) });
    expect(handedOver(ring, 1)).toMatchObject({ hdrLen: 3584, frame: tx.bytes.slice(tx.slotSize, tx.slotSize + 3584) });
  });

  test("while the next ring frame is still the kernel's, frames are dropped and counted and the ring waits there", () => {
    const { ring, rx, tx, sources, stats } = sendRingLab(4);
    setStatus(ring, 0, TP_STATUS_SENDING);
    tx.lengths.fill(60);
    tx.count = 2;
    expect(putInSendRing(ring, rx, tx, sources, stats)).toBe(0);
    expect(stats.sendDropped).toBe(2);
    expect(ring.next).toBe(0);
    // The driver is done with it: the next batch goes there.
    setStatus(ring, 0, TP_STATUS_AVAILABLE);
    expect(putInSendRing(ring, rx, tx, sources, stats)).toBe(2);
    expect([statusOf(ring, 0), statusOf(ring, 1)]).toEqual([TP_STATUS_SEND_REQUEST, TP_STATUS_SEND_REQUEST]);
  });

  test("a frame longer than its slot is dropped and counted, the others go", () => {
    const { ring, rx, tx, sources, stats } = sendRingLab(4);
    tx.lengths[0] = 60;
    tx.lengths[1] = tx.slotSize + 1;
    tx.lengths[2] = 64;
    tx.count = 3;
    expect(putInSendRing(ring, rx, tx, sources, stats)).toBe(2);
    expect(stats).toMatchObject({ sendDropped: 1, lastSendErrno: EMSGSIZE });
    expect([handedOver(ring, 0).frame.length, handedOver(ring, 1).frame.length]).toEqual([60, 64]);
  });

  test("frames the kernel did not take are given back and counted, and the next batch starts where the kernel stopped, across the ring's end", () => {
    const { ring, rx, tx, sources, stats } = sendRingLab(4);
    tx.lengths.fill(60);
    // Frames 0-2 go, the kernel sends all three.
    tx.count = 3;
    expect(putInSendRing(ring, rx, tx, sources, stats)).toBe(3);
    for (const frame of [0, 1, 2]) setStatus(ring, frame, TP_STATUS_AVAILABLE);
    expect(takeBackUnsent(ring, 3, stats)).toBe(0);
    // Frames 3, 0 and 1 (over the end): the kernel takes frame 3 only (frame 3 still in the driver).
    expect(putInSendRing(ring, rx, tx, sources, stats)).toBe(3);
    expect(ring.next).toBe(2);
    setStatus(ring, 3, TP_STATUS_SENDING);
    expect(takeBackUnsent(ring, 3, stats)).toBe(2);
    expect(stats.sendDropped).toBe(2);
    expect([0, 1, 2, 3].map((frame) => statusOf(ring, frame))).toEqual([TP_STATUS_AVAILABLE, TP_STATUS_AVAILABLE, TP_STATUS_AVAILABLE, TP_STATUS_SENDING]);
    // The kernel's position is frame 0 now, and so is the ring's.
    expect(ring.next).toBe(0);
    tx.count = 1;
    expect(putInSendRing(ring, rx, tx, sources, stats)).toBe(1);
    expect(statusOf(ring, 0)).toBe(TP_STATUS_SEND_REQUEST);
    // None taken at all (the link is down): all given back.
    expect(takeBackUnsent(ring, 1, stats)).toBe(1);
    expect(ring.next).toBe(0);
    expect(stats.sendDropped).toBe(3);
  });
});

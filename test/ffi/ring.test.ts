// The rings' geometry (ffi/ring.ts) for the slot sizes bng uses: what the kernel accepts
// (aligned frames, page-aligned blocks, frame count = frames per block x blocks), no overlap, room
// for each ring's headers before the frame, and at most 16 MiB.
import { describe, expect, test } from "bun:test";
import { receiveRingGeometry, sendRingGeometry } from "../../ffi/ring.ts";

const RINGS: { ring: string; geometryOf: typeof receiveRingGeometry; headroom: number; frames: number }[] = [
  // Receive: tpacket2_hdr, sockaddr_ll, the kernel's room and PACKET_RESERVE fit in 128 bytes.
  { ring: "receive", geometryOf: receiveRingGeometry, headroom: 128, frames: 2048 },
  // Send: tpacket2_hdr, the 2 bytes to tp_mac and the 10-byte virtio_net_hdr take 44 bytes.
  { ring: "send", geometryOf: sendRingGeometry, headroom: 44, frames: 512 },
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
  test("receive: 30 frames of 2,176 bytes per 64 KiB block, about 4.4 MiB", () => {
    const geometry = receiveRingGeometry(2048);
    expect(geometry.frameSize).toBe(2176);
    expect(geometry.blockCount).toBe(69);
    expect(geometry.size).toBe(69 * 65536);
  });

  test("send: 31 frames of 2,096 bytes per 64 KiB block, about 1.1 MiB", () => {
    const geometry = sendRingGeometry(2048);
    expect(geometry.frameSize).toBe(2096);
    expect(geometry.frameCount).toBe(17 * 31);
    expect(geometry.size).toBe(17 * 65536);
  });
});

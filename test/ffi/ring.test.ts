// The receive ring's geometry (ffi/ring.ts) for the slot sizes bng uses: what the kernel accepts
// (aligned frames, page-aligned blocks, frame count = frames per block x blocks), no overlap, and
// at most 16 MiB.
import { describe, expect, test } from "bun:test";
import { ringGeometry } from "../../ffi/ring.ts";

describe("receive ring geometry", () => {
  test.each([128, 2048, 9018 + 46, 65536])("slots of %d bytes", (slotSize) => {
    const { frameSize, blockSize, blockCount, frameCount, offsets, size } = ringGeometry(slotSize);
    expect(frameSize % 16).toBe(0);
    expect(frameSize).toBeGreaterThanOrEqual(slotSize + 128);
    expect(blockSize % 65536).toBe(0);
    const framesPerBlock = Math.floor(blockSize / frameSize);
    expect(frameCount).toBe(framesPerBlock * blockCount);
    // 2,048 frames, or as many as 16 MiB holds for jumbo slots.
    if (frameCount < 2048) expect(size).toBeGreaterThan((16 << 20) - blockSize);
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

  test("2,048-byte slots: 30 frames of 2,176 bytes per 64 KiB block, about 4.4 MiB", () => {
    const geometry = ringGeometry(2048);
    expect(geometry.frameSize).toBe(2176);
    expect(geometry.blockCount).toBe(69);
    expect(geometry.size).toBe(69 * 65536);
  });
});

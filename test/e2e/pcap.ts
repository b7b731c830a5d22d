// Reads the frames of a classic pcap file (tcpdump -w), so tests can check bytes, not text.
import { readFileSync } from "node:fs";

export function readPcap(path: string): Uint8Array[] {
  const file = readFileSync(path);
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (file.byteLength < 24) return [];
  const magic = view.getUint32(0, true);
  // Microsecond or nanosecond timestamps, little- or big-endian writer.
  const littleEndian = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!littleEndian && view.getUint32(0, false) !== 0xa1b2c3d4 && view.getUint32(0, false) !== 0xa1b23c4d) {
    throw new Error(`${path} is not a pcap file (magic ${magic.toString(16)})`);
  }
  const frames: Uint8Array[] = [];
  for (let at = 24; at + 16 <= file.byteLength; ) {
    const captured = view.getUint32(at + 8, littleEndian);
    const start = at + 16;
    if (start + captured > file.byteLength) break;
    frames.push(new Uint8Array(file.subarray(start, start + captured)));
    at = start + captured;
  }
  return frames;
}

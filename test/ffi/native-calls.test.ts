// How bng calls libc on Bun (ffi/native/bun.ts): straight into bun:ffi's native function, whose
// own wrapper would make a Function (and a BigInt for a 64-bit integer) per argument per call.
// Bun only (bun:jsc); the adapter's behaviour on both runtimes is native.test.ts's.
import { heapStats } from "bun:jsc";
import { expect, test } from "bun:test";
import { lastErrno, libc } from "../../ffi/libc.ts";
import { AF_INET, MSG_DONTWAIT, SOCK_DGRAM, SOL_SOCKET } from "../../ffi/layout.ts";
import { native } from "../../ffi/native.ts";
import { EBADF } from "../../ffi/errors.ts";

const SO_TYPE = 3;
const CALLS = 100_000;

test("100,000 calls with arguments (the send ring's kick) make no object", () => {
  const noBytes = native.wide(0);
  const kick = (): number => {
    let refused = 0;
    for (let call = 0; call < CALLS; call++) if (libc.send(-1, null, noBytes, MSG_DONTWAIT) < 0) refused++;
    return refused;
  };
  kick();
  Bun.gc(true);
  const before = heapStats().objectTypeCounts;
  expect(kick()).toBe(CALLS);
  expect(lastErrno()).toBe(EBADF);
  const after = heapStats().objectTypeCounts;
  const grown = Object.keys(after).filter((type) => (after[type] ?? 0) - (before[type] ?? 0) > CALLS / 100);
  expect(grown).toEqual([]);
});

test("a 32-bit argument held as a double reaches C as its value", () => {
  const fd = libc.socket(AF_INET, SOCK_DGRAM, 0);
  expect(fd).toBeGreaterThanOrEqual(0);
  try {
    // Math.sqrt's results are doubles to JavaScriptCore; the native function reads an int32 argument
    // from a number's int32 form only, so without `| 0` these would arrive as 0 (SOL_IP, option 0).
    const value = new Int32Array(1);
    const length = new Uint32Array([4]);
    expect(libc.getsockopt(fd, Math.sqrt(SOL_SOCKET * SOL_SOCKET), Math.sqrt(SO_TYPE * SO_TYPE), value, length)).toBe(0);
    expect(value[0]).toBe(SOCK_DGRAM);
  } finally {
    libc.close(fd);
  }
});

// CLOCK_MONOTONIC in milliseconds: one clock for the whole process. Session times, the ARP
// schedule and the uptime count on it, so a step of the wall clock (NTP setting it at boot, an
// operator's `date -s`) neither ends every session at once nor stops targets being re-ARPed
// until the clock catches up. performance.now() and Bun.nanoseconds() will not do: they count
// from each thread's own start (a worker started 12 ms after the main thread read 11-13 ms
// less at the same instant), and session times are shared between the workers and the control
// thread.
import { ptr, type Pointer } from "bun:ffi";
import { SyscallError } from "./errors.ts";
import { lastErrno, libc } from "./libc.ts";

const CLOCK_MONOTONIC = 1;
// struct timespec { int64 tv_sec; int64 tv_nsec; } as 32-bit words, little-endian (x86-64 and
// arm64 only, as the rest of ffi/): reading them as numbers allocates nothing, where a
// BigInt64Array element would be a new BigInt on every call. Over an explicit ArrayBuffer: with
// `new Int32Array(4)`, once the caller was compiled its reads no longer saw what clock_gettime
// wrote through the pointer (100 ms of sleep read as 0.00 ms after 200,000 calls), which
// test/ffi/monotonic-clock.test.ts caught.
const timespec = new Int32Array(new ArrayBuffer(16));
const timespecPointer = ptr(timespec) as Pointer;

/** Milliseconds of CLOCK_MONOTONIC (since boot, not counting suspend), this thread's read. */
export function monotonicMs(): number {
  if (libc.clock_gettime(CLOCK_MONOTONIC, timespecPointer) !== 0) throw new SyscallError("clock_gettime(CLOCK_MONOTONIC)", lastErrno());
  const seconds = timespec[1]! * 2 ** 32 + (timespec[0]! >>> 0);
  return seconds * 1000 + timespec[2]! / 1e6;
}

// Clocks read with clock_gettime.
//
// CLOCK_MONOTONIC in milliseconds is one clock for the whole process. Session times, the ARP
// schedule and the uptime count on it, so a step of the wall clock (NTP setting it at boot, an
// operator's `date -s`) neither ends every session at once nor stops targets being re-ARPed
// until the clock catches up. performance.now() (and Bun.nanoseconds()) will not do: they count
// from each thread's own start (a worker started 12 ms after the main thread read 11-13 ms
// less at the same instant), and session times are shared between the workers and the control
// thread. The calling thread's CPU time is for the benchmarks.
import { SyscallError } from "./errors.ts";
import { lastErrno, libc } from "./libc.ts";
import { native } from "./native.ts";

const CLOCK_MONOTONIC = 1;
const CLOCK_THREAD_CPUTIME_ID = 3;
// struct timespec { int64 tv_sec; int64 tv_nsec; } as 32-bit words, little-endian (x86-64 and
// arm64 only, as the rest of ffi/): reading them as numbers allocates nothing, where a
// BigInt64Array element would be a new BigInt on every call. Over an explicit ArrayBuffer, since
// the pointer is taken once: made as `new Int32Array(4)`, the array's elements had moved after
// 300,000 calls (ptr() of it gave another address) and the clock read the same time across
// 100 ms of sleep; test/ffi/clock.test.ts caught it.
const timespec = new Int32Array(new ArrayBuffer(16));
const timespecPointer = native.pointer(native.addressOf(timespec));

function readMs(clock: number): number {
  if (libc.clock_gettime(clock, timespecPointer) !== 0) throw new SyscallError(`clock_gettime(clock ${clock})`, lastErrno());
  const seconds = timespec[1]! * 2 ** 32 + (timespec[0]! >>> 0);
  return seconds * 1000 + timespec[2]! / 1e6;
}

/** Milliseconds of CLOCK_MONOTONIC (since boot, not counting suspend), the same in every thread. */
export function monotonicMs(): number {
  return readMs(CLOCK_MONOTONIC);
}

/** CPU time (user and system) the calling thread has used, in milliseconds. */
export function threadCpuMs(): number {
  return readMs(CLOCK_THREAD_CPUTIME_ID);
}

// The libc functions bng calls through bun:ffi: the packet path and the health checks.
//
// errno is thread-local. This module opens libc at evaluation time, and every Bun Worker
// evaluates its own instance of each module it imports, so a Worker that imports this file
// gets bindings created in its own thread, and `lastErrno()` asks `__errno_location()` for the
// calling thread's errno each time (never a cached address from another thread). Read it
// right after the failing call, before any other libc call.
import { dlopen, FFIType, read, type Pointer } from "bun:ffi";
import { SyscallError } from "./errors.ts";

const SYMBOLS = {
  socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  bind: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  setsockopt: {
    args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.u32],
    returns: FFIType.i32,
  },
  getsockopt: {
    args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.ptr],
    returns: FFIType.i32,
  },
  // int recvmmsg(int fd, struct mmsghdr *msgs, unsigned vlen, int flags, struct timespec *timeout)
  recvmmsg: {
    args: [FFIType.i32, FFIType.ptr, FFIType.u32, FFIType.i32, FFIType.ptr],
    returns: FFIType.i32,
  },
  sendmmsg: { args: [FFIType.i32, FFIType.ptr, FFIType.u32, FFIType.i32], returns: FFIType.i32 },
  sendto: {
    args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.ptr, FFIType.u32],
    returns: FFIType.i64_fast,
  },
  close: { args: [FFIType.i32], returns: FFIType.i32 },
  // The health checks' non-blocking TCP connect and ICMP echo.
  connect: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  getsockname: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  recvfrom: {
    args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.ptr, FFIType.ptr],
    returns: FFIType.i64_fast,
  },
  poll: { args: [FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
  // The PACKET_MMAP receive ring.
  mmap: { args: [FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.i32, FFIType.i32, FFIType.i64], returns: FFIType.ptr },
  munmap: { args: [FFIType.ptr, FFIType.u64], returns: FFIType.i32 },
  // Copies a frame out of the ring without the view object that subarray() would allocate per
  // frame; void, so no pointer is boxed back (measured as fast as TypedArray.set at 64 and 1,500 B).
  memcpy: { args: [FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.void },
  // Huge pages for the session table (ffi/memory.ts).
  prctl: { args: [FFIType.i32, FFIType.u64, FFIType.u64, FFIType.u64, FFIType.u64], returns: FFIType.i32 },
  madvise: { args: [FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
  // CLOCK_MONOTONIC for session times (ffi/clock.ts).
  clock_gettime: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  strerror: { args: [FFIType.i32], returns: FFIType.cstring },
  if_nametoindex: { args: [FFIType.ptr], returns: FFIType.u32 },
  // ioctl is variadic; every request bng makes passes one pointer, which the x86-64 and arm64
  // calling conventions pass exactly as a fixed third argument.
  ioctl: { args: [FFIType.i32, FFIType.u64, FFIType.ptr], returns: FFIType.i32 },
  __errno_location: { args: [], returns: FFIType.ptr },
} as const;

// glibc first; musl names its libc after the architecture.
const LIBC_SONAMES = ["libc.so.6", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1"];

function openLibc() {
  if (process.platform !== "linux") {
    throw new Error(`bng's packet path needs Linux (AF_PACKET); this is ${process.platform}`);
  }
  if (process.arch !== "x64" && process.arch !== "arm64") {
    // The struct layouts in ffi/layout.ts are those of LP64 Linux on x86-64 and arm64.
    throw new Error(`bng's packet path supports x64 and arm64; this is ${process.arch}`);
  }
  const failures: string[] = [];
  for (const soname of LIBC_SONAMES) {
    try {
      return dlopen(soname, SYMBOLS);
    } catch (error) {
      failures.push(`${soname}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  throw new Error(`cannot load the C library (tried ${failures.join("; ")})`);
}

/** libc bindings of the thread that evaluated this module. */
export const libc = openLibc().symbols;

/** The calling thread's errno. */
export function lastErrno(): number {
  return read.i32(libc.__errno_location() as Pointer, 0);
}

/** Throws a SyscallError for `call` when `result` is negative; returns `result` otherwise. */
export function check(result: number, call: string, advice?: (errno: number) => string | undefined): number {
  if (result >= 0) return result;
  const errno = lastErrno();
  throw new SyscallError(call, errno, advice?.(errno));
}

/** A NUL-terminated copy of `text` for C string arguments. */
export function cString(text: string): Uint8Array {
  return new TextEncoder().encode(`${text}\0`);
}

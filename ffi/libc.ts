// The libc functions bng calls through the runtime's FFI (native.ts): the packet path and the
// health checks.
//
// errno is thread-local. This module opens libc at evaluation time, and every Worker (Bun's
// and Deno's) evaluates its own instance of each module it imports, so a Worker that imports
// this file gets bindings and an errno reader made in its own thread. Read errno right after
// the failing call, before any other libc call.
import { SyscallError } from "./errors.ts";
import { native } from "./native.ts";
import type { Signatures } from "./native/types.ts";

const SYMBOLS = {
  socket: { args: ["i32", "i32", "i32"], returns: "i32" },
  bind: { args: ["i32", "buffer", "u32"], returns: "i32" },
  setsockopt: { args: ["i32", "i32", "i32", "buffer", "u32"], returns: "i32" },
  getsockopt: { args: ["i32", "i32", "i32", "buffer", "buffer"], returns: "i32" },
  // int recvmmsg(int fd, struct mmsghdr *msgs, unsigned vlen, int flags, struct timespec *timeout)
  recvmmsg: { args: ["i32", "pointer", "u32", "i32", "pointer"], returns: "i32" },
  sendmmsg: { args: ["i32", "pointer", "u32", "i32"], returns: "i32" },
  sendto: { args: ["i32", "buffer", "u64", "i32", "buffer", "u32"], returns: "isize" },
  // The send ring's kick, once per batch: send(fd, NULL, 0, flags). Declared i32 (the byte count
  // of one batch fits) so that no 64-bit result is boxed per call.
  send: { args: ["i32", "pointer", "u64", "i32"], returns: "i32" },
  close: { args: ["i32"], returns: "i32" },
  // The health checks' non-blocking TCP connect and ICMP echo.
  connect: { args: ["i32", "buffer", "u32"], returns: "i32" },
  getsockname: { args: ["i32", "buffer", "buffer"], returns: "i32" },
  recvfrom: { args: ["i32", "buffer", "u64", "i32", "buffer", "buffer"], returns: "isize" },
  // The XDP engine's ARP tap: declared i32 (a frame's length fits) so that nothing is boxed per call.
  recv: { args: ["i32", "buffer", "u64", "i32"], returns: "i32" },
  poll: { args: ["buffer", "u64", "i32"], returns: "i32" },
  // The PACKET_MMAP rings.
  mmap: { args: ["pointer", "u64", "i32", "i32", "i32", "i64"], returns: "address" },
  munmap: { args: ["pointer", "u64"], returns: "i32" },
  // Copies a frame out of the ring without the view object that subarray() would allocate per
  // frame; void, so no pointer is boxed back (measured as fast as TypedArray.set at 64 and 1,500 B).
  memcpy: { args: ["pointer", "pointer", "u64"], returns: "void" },
  // Huge pages for the session table (ffi/memory.ts).
  prctl: { args: ["i32", "u64", "u64", "u64", "u64"], returns: "i32" },
  madvise: { args: ["pointer", "u64", "i32"], returns: "i32" },
  // CLOCK_MONOTONIC for session times (ffi/clock.ts).
  clock_gettime: { args: ["i32", "pointer"], returns: "i32" },
  strerror: { args: ["i32"], returns: "cstring" },
  if_nametoindex: { args: ["buffer"], returns: "u32" },
  // bpf(2), which libc does not wrap: syscall(SYS_bpf, cmd, attr, size). The arguments after the
  // number go in the registers a fixed fourth argument would use (x86-64, arm64), and glibc's
  // syscall() reads no vector registers.
  syscall: { args: ["i64", "i64", "buffer", "u64"], returns: "i32" },
  // ioctl is variadic; every request bng makes passes one pointer, which the x86-64 and arm64
  // calling conventions pass exactly as a fixed third argument.
  ioctl: { args: ["i32", "u64", "buffer"], returns: "i32" },
} as const satisfies Signatures;

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
      return { symbols: native.open(soname, SYMBOLS), errno: native.errnoReader(soname) };
    } catch (error) {
      failures.push(`${soname}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  throw new Error(`cannot load the C library (tried ${failures.join("; ")})`);
}

const opened = openLibc();

/** libc bindings of the thread that evaluated this module. */
export const libc = opened.symbols;

/** The calling thread's errno. */
export const lastErrno: () => number = opened.errno;

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

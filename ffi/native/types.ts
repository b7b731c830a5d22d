// What bng needs from a runtime's foreign function interface, declared once for Bun (bun:ffi,
// bun.ts) and Deno (Deno.dlopen, deno.ts). The rest of ffi/ declares C functions with these
// types and calls them the same way on both.
//
// Two kinds of pointer argument, because the runtimes differ where it costs: Bun takes an
// address as a plain number, Deno only as a pointer object, and making one allocates (a
// computed number passed as an address allocated too on Deno: 25 scavenges per million calls).
// - "buffer": a typed array (or null), its current address taken by the call itself. For
//   everything that is not on the packet path.
// - "pointer": a NativePointer made once with `native.pointer()` and kept (the arena's message
//   headers, the ring's frames). The packet path passes only such kept pointers, so a call
//   allocates nothing on either runtime.
//
// A 64-bit integer argument ("i64", "u64") is a number or a WideInteger. Deno's fast calls take
// such an argument only as a bigint: a number sends the call to the slow path and deoptimizes the
// caller ("not a BigInt"), over and over, and the caller allocates as it runs deoptimized (30-40
// bytes per batch of the ring engine, measured with bench/engine-heap.ts). The packet path passes
// only WideIntegers made once with `native.wide()`; cold calls pass plain numbers.

declare const nativePointer: unique symbol;

/** An address to pass to C: a number on Bun, a pointer object on Deno. Made once, used many times. */
export type NativePointer = { readonly [nativePointer]: true };

declare const wideInteger: unique symbol;

/** A 64-bit integer argument: the number on Bun, a bigint on Deno. Made once, used many times. */
export type WideInteger = { readonly [wideInteger]: true };

export type ArgumentType = "i32" | "u32" | "i64" | "u64" | "pointer" | "buffer";

/**
 * "isize" arrives as a number or a bigint (Deno gives a bigint); "address" as a number (cold
 * calls only: mmap); "cstring" as a string.
 */
export type ResultType = "i32" | "u32" | "isize" | "address" | "cstring" | "void";

export interface Signature {
  readonly args: readonly ArgumentType[];
  readonly returns: ResultType;
}

export type Signatures = Readonly<Record<string, Signature>>;

type ArgumentValue<T extends ArgumentType> = T extends "pointer"
  ? NativePointer | null
  : T extends "buffer"
    ? ArrayBufferView | null
    : T extends "i64" | "u64"
      ? number | WideInteger
      : number;

type ArgumentValues<T extends readonly ArgumentType[]> = { -readonly [K in keyof T]: ArgumentValue<T[K]> };

type ResultValue<T extends ResultType> = T extends "isize"
  ? number | bigint
  : T extends "cstring"
    ? string
    : T extends "void"
      ? void
      : number;

/** The functions of a library opened with `Native.open`, typed from their signatures. */
export type Library<S extends Signatures> = {
  readonly [K in keyof S]: (...args: ArgumentValues<S[K]["args"]>) => ResultValue<S[K]["returns"]>;
};

export interface Native {
  /** Which runtime this is, for messages and benchmarks. */
  readonly runtime: "bun" | "deno";
  /** Opens the shared library `path` and binds `symbols`; throws when it cannot. */
  open<S extends Signatures>(path: string, symbols: S): Library<S>;
  /** The address of `view`'s first byte. Kept only for views over an explicit ArrayBuffer (ffi/README.md). */
  addressOf(view: ArrayBufferView): number;
  /** `address` as a kept pointer argument. Allocates on Deno: never per packet. */
  pointer(address: number): NativePointer;
  /** `value` as a kept 64-bit integer argument. Allocates on Deno: never per packet. */
  wide(value: number): WideInteger;
  /** `length` bytes of memory at `address` (a mapping bng made) as an ArrayBuffer over it, not a copy. */
  memoryAt(address: number, length: number): ArrayBuffer;
  /**
   * A reader of the calling thread's errno through `__errno_location` of the C library `path`.
   * The reader allocates nothing; it belongs to the thread that made it (every Worker evaluates
   * its own libc.ts, so its own reader).
   */
  errnoReader(path: string): () => number;
}

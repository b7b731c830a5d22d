// bng's foreign function interface on Bun (bun:ffi). A pointer is a plain number here, so
// `pointer()` is the address itself and a computed address allocates nothing either; a 64-bit
// integer argument is a number too, so `wide()` is the value itself.
import { dlopen, FFIType, ptr, read, toArrayBuffer, type FFIFunction, type Pointer } from "bun:ffi";
import type { ArgumentType, Library, Native, NativePointer, ResultType, Signatures, WideInteger } from "./types.ts";

const ARGUMENTS: Record<ArgumentType, FFIType> = {
  i32: FFIType.i32,
  u32: FFIType.u32,
  i64: FFIType.i64,
  u64: FFIType.u64,
  // Both take an address as a number or a typed array; bun:ffi tells them apart per call.
  pointer: FFIType.ptr,
  buffer: FFIType.ptr,
};

const RESULTS: Record<ResultType, FFIType> = {
  i32: FFIType.i32,
  u32: FFIType.u32,
  isize: FFIType.i64_fast,
  address: FFIType.ptr,
  cstring: FFIType.cstring,
  void: FFIType.void,
};

type Call = (...args: unknown[]) => unknown;

/**
 * bun:ffi's function itself (`symbol.native`) behind a wrapper that makes no object per call.
 * bun:ffi's own wrapper converts each argument in an arrow function it creates on every call
 * (Bun 1.3: one Function, and for a 64-bit integer one BigInt, per argument per call, garbage on
 * the packet path, where the send ring's kick and the clock are called every batch). The native
 * function takes numbers for the 64-bit integers and numbers, typed arrays or null for pointers
 * as they are; a 32-bit integer it reads from a number's int32 form only (a number held as a
 * double reads as 0), so those arguments get `| 0`, as bun:ffi's wrapper gives them.
 */
function direct(symbol: Call, args: readonly ArgumentType[]): Call {
  const native = (symbol as Call & { native?: Call }).native;
  if (native === undefined || native === symbol) return symbol;
  const int32 = args.map((type) => type === "i32" || type === "u32");
  const asInt = (value: unknown, isInt32: boolean | undefined): unknown => (isInt32 ? (value as number) | 0 : value);
  const [i0, i1, i2, i3, i4, i5] = int32;
  switch (args.length) {
    case 1:
      return (a) => native(asInt(a, i0));
    case 2:
      return (a, b) => native(asInt(a, i0), asInt(b, i1));
    case 3:
      return (a, b, c) => native(asInt(a, i0), asInt(b, i1), asInt(c, i2));
    case 4:
      return (a, b, c, d) => native(asInt(a, i0), asInt(b, i1), asInt(c, i2), asInt(d, i3));
    case 5:
      return (a, b, c, d, e) => native(asInt(a, i0), asInt(b, i1), asInt(c, i2), asInt(d, i3), asInt(e, i4));
    case 6:
      return (a, b, c, d, e, f) => native(asInt(a, i0), asInt(b, i1), asInt(c, i2), asInt(d, i3), asInt(e, i4), asInt(f, i5));
    default:
      return symbol;
  }
}

/** The result as the neutral type says; only the cold "address" and "cstring" results are wrapped. */
function adapted(call: Call, returns: ResultType): Call {
  // bun:ffi gives NULL as null; MAP_FAILED ((void *)-1) arrives as 2^64 - 1.
  if (returns === "address") return (...args) => (call(...args) as number | null) ?? 0;
  // A CString object: made a primitive string.
  if (returns === "cstring") return (...args) => String(call(...args));
  return call;
}

export const bunNative: Native = {
  runtime: "bun",

  open<S extends Signatures>(path: string, symbols: S): Library<S> {
    const declarations: Record<string, FFIFunction> = {};
    for (const [name, signature] of Object.entries(symbols)) {
      declarations[name] = { args: signature.args.map((type) => ARGUMENTS[type]), returns: RESULTS[signature.returns] };
    }
    const bound = dlopen(path, declarations).symbols as unknown as Record<string, Call>;
    const library: Record<string, Call> = {};
    for (const [name, signature] of Object.entries(symbols)) {
      // A C string comes back from the native function as its address: bun:ffi's wrapper reads it.
      const call = signature.returns === "cstring" ? bound[name]! : direct(bound[name]!, signature.args);
      library[name] = adapted(call, signature.returns);
    }
    return library as Library<S>;
  },

  addressOf(view: ArrayBufferView): number {
    return ptr(view as NodeJS.TypedArray);
  },

  pointer(address: number): NativePointer {
    return address as unknown as NativePointer;
  },

  wide(value: number): WideInteger {
    return value as unknown as WideInteger;
  },

  memoryAt(address: number, length: number): ArrayBuffer {
    return toArrayBuffer(address as Pointer, 0, length);
  },

  errnoReader(path: string): () => number {
    const { symbols } = dlopen(path, { __errno_location: { args: [], returns: FFIType.ptr } });
    // The location is asked each time, and read without allocating.
    return () => read.i32(symbols.__errno_location()!, 0);
  },
};

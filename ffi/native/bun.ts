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
    for (const [name, signature] of Object.entries(symbols)) library[name] = adapted(bound[name]!, signature.returns);
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

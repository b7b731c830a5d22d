// bng's foreign function interface on Deno (Deno.dlopen). A pointer argument is a pointer
// object: made once by `pointer()` and kept, and a 64-bit integer argument a bigint made once by
// `wide()` (the fast call path takes no number there), so calls on the packet path allocate nothing.
// Deno returns every 64-bit result as a bigint; the "address" results (mmap) are made numbers.
import type { ArgumentType, Library, Native, NativePointer, ResultType, Signatures, WideInteger } from "./types.ts";

type Call = (...args: unknown[]) => unknown;
type PointerObject = object;

/** The part of Deno's API used here (typed locally: the project type-checks against Bun's types). */
interface DenoFfi {
  dlopen(path: string, symbols: Record<string, { parameters: string[]; result: string }>): { symbols: Record<string, Call> };
  UnsafePointer: {
    of(view: ArrayBufferView): PointerObject | null;
    create(value: bigint): PointerObject | null;
    value(pointer: PointerObject | null): number | bigint;
  };
  UnsafePointerView: {
    getArrayBuffer(pointer: PointerObject, byteLength: number): ArrayBuffer;
    getCString(pointer: PointerObject): string;
  };
}

const deno = (globalThis as unknown as { Deno: DenoFfi }).Deno;

const ARGUMENTS: Record<ArgumentType, string> = {
  i32: "i32",
  u32: "u32",
  i64: "i64",
  u64: "u64",
  pointer: "pointer",
  buffer: "buffer",
};

const RESULTS: Record<ResultType, string> = {
  i32: "i32",
  u32: "u32",
  isize: "isize",
  address: "usize",
  cstring: "pointer",
  void: "void",
};

/** The result as the neutral type says; only the cold "address" and "cstring" results are wrapped. */
function adapted(call: Call, returns: ResultType): Call {
  if (returns === "address") return (...args) => Number(call(...args));
  if (returns === "cstring") {
    return (...args) => {
      const text = call(...args) as PointerObject | null;
      return text === null ? "" : deno.UnsafePointerView.getCString(text);
    };
  }
  return call;
}

function pointerTo(address: number): PointerObject {
  const pointer = deno.UnsafePointer.create(BigInt(address));
  if (pointer === null) throw new RangeError("a NULL pointer cannot be kept; pass null");
  return pointer;
}

export const denoNative: Native = {
  runtime: "deno",

  open<S extends Signatures>(path: string, symbols: S): Library<S> {
    const declarations: Record<string, { parameters: string[]; result: string }> = {};
    for (const [name, signature] of Object.entries(symbols)) {
      declarations[name] = { parameters: signature.args.map((type) => ARGUMENTS[type]), result: RESULTS[signature.returns] };
    }
    const bound = deno.dlopen(path, declarations).symbols;
    const library: Record<string, Call> = {};
    for (const [name, signature] of Object.entries(symbols)) library[name] = adapted(bound[name]!, signature.returns);
    return library as Library<S>;
  },

  addressOf(view: ArrayBufferView): number {
    return Number(deno.UnsafePointer.value(deno.UnsafePointer.of(view)));
  },

  pointer(address: number): NativePointer {
    return pointerTo(address) as NativePointer;
  },

  wide(value: number): WideInteger {
    return BigInt(value) as unknown as WideInteger;
  },

  memoryAt(address: number, length: number): ArrayBuffer {
    return deno.UnsafePointerView.getArrayBuffer(pointerTo(address), length);
  },

  errnoReader(path: string): () => number {
    // Asking __errno_location each time would allocate (a bigint per call). A Deno Worker runs on
    // its own OS thread for its whole life and evaluates its own copy of this module, so the
    // location asked once here is the calling thread's for as long as the reader is used.
    const { symbols } = deno.dlopen(path, { __errno_location: { parameters: [], result: "usize" } });
    const errno = new Int32Array(deno.UnsafePointerView.getArrayBuffer(pointerTo(Number(symbols.__errno_location!())), 4));
    return () => errno[0]!;
  },
};

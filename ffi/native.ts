// The runtime's foreign function interface, chosen once when ffi/ is first loaded: bun:ffi on
// Bun, Deno.dlopen on Deno. Only the chosen adapter is loaded (bun:ffi does not exist on Deno).
import type { Native } from "./native/types.ts";

export type { NativePointer, WideInteger } from "./native/types.ts";

export const native: Native = "Deno" in globalThis ? (await import("./native/deno.ts")).denoNative : (await import("./native/bun.ts")).bunNative;

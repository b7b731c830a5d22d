// A full garbage collection before a memory measurement, on the runtime that runs the test:
// Bun.gc on Bun, V8's gc() on Deno (run with --v8-flags=--expose-gc, as `npm run test:deno` does).
const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun;
const v8 = (globalThis as { gc?: () => void }).gc;

export function collectGarbage(): void {
  if (bun !== undefined) bun.gc(true);
  else if (v8 !== undefined) v8();
  else throw new Error("no garbage collector to call: run Deno with --v8-flags=--expose-gc");
}

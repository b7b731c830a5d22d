// How bng finds itself: whether it runs as a compiled executable, how to start itself again as
// a child process, and where the data-plane worker's module is. The only place under src/ that
// knows which runtime (Bun or Deno) runs it.
import { fileURLToPath } from "node:url";

/** The parts of the runtimes' own globals read here (typed locally: neither has the other's types). */
const bun = (globalThis as { Bun?: { main: string } }).Bun;
const deno = (globalThis as { Deno?: { build: { standalone?: boolean } } }).Deno;

export function isCompiled(): boolean {
  if (deno !== undefined) return deno.build.standalone === true;
  return bun!.main.startsWith("/$bunfs/");
}

export function selfCommand(): string[] {
  if (isCompiled()) return [process.execPath];
  // From source Deno runs bng through its launcher, which holds the permission flags.
  if (deno !== undefined) return [fileURLToPath(new URL("../../bin/bng-deno", import.meta.url))];
  return [process.execPath, bun!.main];
}

/**
 * The module a Worker runs: `source` (a URL relative to the caller's module), except inside
 * Bun's executable, where an embedded entry point is addressed from the bundle's root as
 * `bundled` (Deno's executable keeps module URLs).
 */
export function workerModule(source: URL, bundled: string): URL | string {
  return bun !== undefined && isCompiled() ? bundled : source;
}

// Which packet I/O engine the workers run: the one `set io` names, or for `set io auto` the first
// of xdp, ring and mmsg that starts, each failure logged. Only auto falls back: an engine named
// outright that cannot start is an error that says why.
import type { IoBackend, PacketEngine } from "../config/model.ts";
import type { Dataplane } from "../control/dependencies.ts";
import type { Logger } from "../log/logger.ts";

/** What `set io auto` tries, fastest first. */
export const AUTO_ENGINES: readonly PacketEngine[] = ["xdp", "ring", "mmsg"];

/** The data plane `start` gives on the first engine of `io` that starts; the last failure is thrown. */
export async function startOnEngine(io: IoBackend, start: (engine: PacketEngine) => Promise<Dataplane>, logger: Logger): Promise<Dataplane> {
  const engines = io === "auto" ? AUTO_ENGINES : [io];
  for (let index = 0; ; index++) {
    const engine = engines[index]!;
    const next = engines[index + 1];
    try {
      return await start(engine);
    } catch (error) {
      if (next === undefined) throw error;
      logger.warn("io-fallback", { engine, error: (error as Error).message, next });
    }
  }
}

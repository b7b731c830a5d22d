// The one switch between bng's packet I/O engines (`set io`): every engine is a PacketIO over
// the same preallocated batches, so the data plane never knows which one runs.
import type { Settings } from "../../src/config/model.ts";
import { openMmsgIO } from "./mmsg.ts";
import { openRingIO } from "./ring.ts";
import type { AfPacketIO, PacketIOOptions } from "./socket.ts";

export type { AfPacketIO, PacketIOOptions } from "./socket.ts";

/** The engines there are and how each opens; `set io` names them. */
const ENGINES: Partial<Record<Settings["io"], (options: PacketIOOptions) => AfPacketIO>> = {
  mmsg: openMmsgIO,
  ring: openRingIO,
};

/** A PacketIO on `options.ifname` of the engine `engine`. */
export function openPacketIO(engine: Settings["io"], options: PacketIOOptions): AfPacketIO {
  const open = ENGINES[engine];
  // bng run refuses a configuration naming an engine this build lacks (src/control/plan.ts).
  if (open === undefined) throw new Error(`set io ${engine}: this packet I/O engine is not available`);
  return open(options);
}

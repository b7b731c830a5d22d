// The one switch between bng's packet I/O engines (`set io`): every engine is a PacketIO over
// the same preallocated batches, so the data plane never knows which one runs.
import type { PacketEngine } from "../../src/config/model.ts";
import { openMmsgIO } from "./mmsg.ts";
import { openRingIO } from "./ring.ts";
import { openXdpIO } from "./xdp.ts";
import type { AfPacketIO, PacketIOOptions } from "./socket.ts";

export type { AfPacketIO, PacketIOOptions } from "./socket.ts";

/** The engines there are and how each opens; `set io` names them. */
const ENGINES: Record<PacketEngine, (options: PacketIOOptions) => AfPacketIO> = {
  mmsg: openMmsgIO,
  ring: openRingIO,
  xdp: openXdpIO,
};

/** A PacketIO on `options.ifname` of the engine `engine`. */
export function openPacketIO(engine: PacketEngine, options: PacketIOOptions): AfPacketIO {
  return ENGINES[engine](options);
}

// A balancer in memory for the flood-defence tests: one server over three targets, a budget of
// 100 new sessions a second, spoofed sources and frames run in batches as a worker runs them.

import type { Config } from "../../src/config/model.ts";
import { config } from "../fixtures/config.ts";
import { CLIENT_MAC, EPOCH_MS, type Lab, OWN_MAC, targetMac } from "../fixtures/dataplane.ts";
import { mac, tcpFrame } from "../fixtures/frames.ts";

export const VIP = "10.0.0.10";
export const TARGETS = [1, 2, 3];
export const NEW_SESSIONS_PER_S = 100;
export const SERVER_TIMEOUT_S = 30;

export function floodConfig(): Config {
  const base = config(
    [{ id: 1, ipaddr: VIP, port: 80, targets: TARGETS, timeoutS: SERVER_TIMEOUT_S }],
    TARGETS.map((id) => ({ id, ipaddr: `10.0.0.${100 + id}` })),
  );
  return { ...base, settings: { ...base.settings, newSessionsPerS: NEW_SESSIONS_PER_S } };
}

export const knownClient = (i: number) => `192.0.2.${i + 1}`;
/** Spoofed source n: 10.64.0.0/10, each used once. */
export const spoofed = (n: number) => `10.${64 + (n >>> 16)}.${(n >>> 8) & 255}.${n & 255}`;
export const segment = (srcIp: string, flags: number, srcPort = 40000) => tcpFrame({ src: CLIENT_MAC, dst: OWN_MAC, srcIp, dstIp: VIP, srcPort, dstPort: 80, flags });
export const ipNumber = (text: string) => text.split(".").reduce((n, part) => n * 256 + Number(part), 0);

/** Runs frames through the lab in batches of 64; returns the target id each went to (0: not forwarded). */
export function send(lab: Lab, frames: Uint8Array[]): number[] {
  const targets: number[] = [];
  for (let from = 0; from < frames.length; from += 64) {
    const batch = frames.slice(from, from + 64);
    for (const frame of batch) lab.io.inject(frame);
    lab.io.receive();
    lab.processor.processBatch();
    for (let slot = 0; slot < batch.length; slot++) {
      const txSlot = Array.from(lab.io.tx.rxSlots.subarray(0, lab.io.tx.count)).indexOf(slot);
      const at = lab.io.rx.offsets[slot]!;
      const dst = txSlot < 0 ? undefined : lab.io.rx.bytes.subarray(at, at + 6);
      targets.push(dst === undefined ? 0 : TARGETS.find((id) => Buffer.from(dst).equals(mac(targetMac(id)))) ?? -1);
    }
  }
  return targets;
}

export const at = (lab: Lab, seconds: number) => {
  lab.nowMs = EPOCH_MS + seconds * 1000;
};

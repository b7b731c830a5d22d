// bng doctor's two rounds on the wire. First ARP: "who has" every target's address, the gateway
// and every VIP, asked a few times from the `real` address, the answers read for a while. Then,
// with the MACs learnt, a SYN to VIP:port and one to the target's own address:port in frames to
// each target's MAC (a silent one is sent once more), and the gateway's ping, all at once.
import { setTimeout as sleep } from "node:timers/promises";
import type { DoctorLink, PingOutcome, SynOutcome, ArpSighting } from "./link.ts";
import type { DoctorSubjects } from "./subjects.ts";

export interface Timing {
  /** ARP requests go out this many times, this far apart; answers are read until arpWindowMs. */
  arpRounds: number;
  arpSpacingMs: number;
  arpWindowMs: number;
  /** How long a SYN waits for its answer; a silent one is sent once more. */
  synTimeoutMs: number;
  pingSpacingMs: number;
  pingTimeoutMs: number;
}

export const DEFAULT_TIMING: Timing = { arpRounds: 3, arpSpacingMs: 250, arpWindowMs: 1000, synTimeoutMs: 1000, pingSpacingMs: 300, pingTimeoutMs: 1500 };

/** The SYNs of one target of one server: to VIP:port, and to the target's own address:port. */
export interface SynPair {
  vip: SynOutcome;
  own: SynOutcome;
}

export interface Observations {
  sightings: ArpSighting[];
  /** By synKey(server, target); absent when no SYN was sent (no MAC, or nothing to check). */
  syns: Map<string, SynPair>;
  /** Absent without a gateway, or when it has no MAC. */
  gatewayPing: PingOutcome | undefined;
  /** Why an ARP request could not be sent (the interface down, ...): then nothing else means anything. */
  sendFailure: string | undefined;
}

export function synKey(serverId: number, targetId: number): string {
  return `${serverId}/${targetId}`;
}

/** The answers to `real`'s ARP requests for `address`, one per MAC, in the order seen. */
export function answersTo(sightings: readonly ArpSighting[], real: number, address: number): ArpSighting[] {
  return sightings.filter((seen) => seen.reply && seen.sender === address && seen.target === real);
}

export async function observe(subjects: DoctorSubjects, link: DoctorLink, timing: Timing = DEFAULT_TIMING): Promise<Observations> {
  const questions = new Map<string, { real: number; address: number }>();
  const ask = (real: number, address: number) => questions.set(`${real}/${address}`, { real, address });
  for (const { server, targets } of subjects.servers) {
    for (const { target, real } of targets) {
      ask(real, target.ipaddr);
      ask(real, server.ipaddr);
    }
  }
  if (subjects.gateway) ask(subjects.gateway.real, subjects.gateway.ipaddr);
  const startedAt = performance.now();
  let sendFailure: string | undefined;
  for (let round = 0; round < timing.arpRounds; round++) {
    if (round > 0) await sleep(timing.arpSpacingMs);
    for (const { real, address } of questions.values()) sendFailure ??= link.askArp(real, address);
  }
  if (sendFailure !== undefined) return { sightings: [], syns: new Map(), gatewayPing: undefined, sendFailure };
  await sleep(Math.max(0, timing.arpWindowMs - (performance.now() - startedAt)));

  const resolved = link.arpSightings();
  const firstMac = (real: number, address: number) => answersTo(resolved, real, address)[0]?.macBytes;
  const synTwice = async (real: number, address: number, port: number, mac: Uint8Array): Promise<SynOutcome> => {
    const first = await link.syn(real, address, port, mac, timing.synTimeoutMs);
    return first.kind === "silent" ? link.syn(real, address, port, mac, timing.synTimeoutMs) : first;
  };
  const syns = new Map<string, SynPair>();
  const pending: Promise<unknown>[] = [];
  for (const subject of subjects.servers) {
    for (const target of subject.targets) {
      const mac = firstMac(target.real, target.target.ipaddr);
      const port = target.synPort;
      if (mac === undefined || port === undefined) continue;
      pending.push(
        Promise.all([synTwice(target.real, subject.server.ipaddr, port, mac), synTwice(target.real, target.target.ipaddr, port, mac)]).then(([vip, own]) => {
          syns.set(synKey(subject.server.id, target.target.id), { vip, own });
        }),
      );
    }
  }
  let gatewayPing: PingOutcome | undefined;
  const gateway = subjects.gateway;
  const gatewayMac = gateway && firstMac(gateway.real, gateway.ipaddr);
  if (gateway && gatewayMac !== undefined) {
    pending.push(link.ping(gateway.real, gateway.ipaddr, gatewayMac, timing.pingSpacingMs, timing.pingTimeoutMs).then((outcome) => (gatewayPing = outcome)));
  }
  await Promise.all(pending);
  // The sightings once more: a VIP announced by a target while the SYNs ran counts too.
  return { sightings: link.arpSightings(), syns, gatewayPing, sendFailure };
}

// Where bng learns each target's MAC and tells the segment about its VIPs: ARP requests from the
// `real` address (unresolved targets each second, resolved ones every `arprefresh`), the MACs the
// workers saw in ARP frames (neighbours.ts), and three gratuitous ARPs per VIP that appears.
// A new MAC for a target that has one is only a candidate in the workers' table: bng probes it
// (an ARP request from `real`, whose reply the workers match) and the target's answer decides.
import { ipToString, type Config, type TargetDef } from "../config/model.ts";
import { writeArpRequest, writeGratuitousArp } from "../dataplane/arp.ts";
import { formatMac } from "../dataplane/frame.ts";
import type { NeighbourTable } from "../dataplane/neighbours.ts";
import type { HostNetwork } from "../host/host-network.ts";
import type { Logger } from "../log/logger.ts";

/** Gratuitous ARPs per VIP when it appears, one second apart. */
const GRATUITOUS_ARP_COUNT = 3;
/** How often an unresolved target is asked for its MAC. */
export const UNRESOLVED_ARP_INTERVAL_MS = 1000;
/** How long a probe of a candidate MAC waits for the target's reply. */
export const PROBE_TIMEOUT_MS = 2000;
/** A target is probed at most this often, however many candidates appear (forged ARP floods). */
export const PROBE_INTERVAL_MS = 5000;
/** `target-mac-refused` and `target-answers-arp-for-vip` are logged at most this often per target. */
const NEIGHBOUR_LOG_MS = 60_000;

interface TargetMacState {
  mac: Uint8Array | undefined;
  /** The workers' sighting count when the MAC was last read: a higher one means a new ARP frame. */
  sightings: number;
  lastArpRequestMs: number;
  /** The workers' candidate count when last looked at: a higher one means another MAC was seen. */
  candidateSightings: number;
  /** When the running probe started (-Infinity: none), and the candidate it asks about. */
  probeStartedMs: number;
  probedCandidate: string;
  lastProbeMs: number;
  /** Candidates refused since the last `target-mac-refused` line, and when that was. */
  refused: number;
  refusedLoggedMs: number;
  /** The workers' count of ARP for a VIP from the target's MAC when last logged, and when. */
  vipAnswers: number;
  vipAnswersLoggedMs: number;
}

export interface TargetResolverOptions {
  logger: Logger;
  network: Pick<HostNetwork, "ownMac" | "sendFrame">;
  neighbours: NeighbourTable;
  now: () => number;
  /** bng's own address in the target's network: the source of its ARP requests. */
  realAddressFor(target: TargetDef): number | undefined;
  /** A MAC was learned or changed: the forwarding table must be published again. */
  onMacChange(): void;
}

export class TargetResolver {
  private readonly macs = new Map<number, TargetMacState>();
  private readonly announcements = new Set<ReturnType<typeof setTimeout>>();
  private readonly arpFrame = new Uint8Array(64);
  private stopped = false;

  constructor(private readonly options: TargetResolverOptions) {}

  targetMac(id: number): Uint8Array | undefined {
    return this.macs.get(id)?.mac;
  }

  /**
   * Forgets the MAC of a target id that now names another host (a reload): the workers' entry
   * for the id still holds the old host's MAC, so only an ARP seen from now on (a higher
   * sighting count) may give the id its new one.
   */
  renew(id: number): void {
    const neighbours = this.options.neighbours;
    neighbours.forget(id);
    this.macs.set(id, { ...newState(), sightings: neighbours.sightings(id), candidateSightings: neighbours.candidateSightings(id), vipAnswers: neighbours.vipAnswers(id) });
  }

  /** Asks every registered target for its MAC when due. Runs every second: an index loop, nothing built unless a request goes out. */
  resolve(config: Config): void {
    const nowMs = this.options.now();
    const refreshMs = config.settings.arpRefreshS * 1000;
    const targets = config.targets;
    for (let i = 0; i < targets.length; i++) {
      const target = targets[i]!;
      if (!target.registered) continue;
      const state = this.stateOf(target.id);
      const due = state.mac === undefined ? UNRESOLVED_ARP_INTERVAL_MS : refreshMs;
      if (nowMs - state.lastArpRequestMs < due - 50) continue;
      const source = this.options.realAddressFor(target);
      if (source === undefined) continue;
      state.lastArpRequestMs = nowMs;
      this.send(writeArpRequest(this.arpFrame, 0, this.options.network.ownMac, source, target.ipaddr), "arp request for", target.ipaddr);
    }
  }

  /**
   * Picks up MACs the workers learned from ARP frames; a new or changed MAC is logged and
   * republished. Runs five times a second: it looks at the sighting counts first and allocates
   * nothing while nothing changes.
   */
  pollNeighbours(config: Config): void {
    const { neighbours, logger } = this.options;
    const nowMs = this.options.now();
    let changed = false;
    const targets = config.targets;
    for (let i = 0; i < targets.length; i++) {
      const target = targets[i]!;
      const state = this.stateOf(target.id);
      this.followCandidate(target, state, nowMs);
      this.noteVipAnswers(target, state, nowMs);
      if (neighbours.sightings(target.id) === state.sightings) continue;
      const learned = neighbours.read(target.id);
      if (!learned || learned.sightings === state.sightings) continue;
      state.sightings = learned.sightings;
      const before = state.mac;
      if (before && formatMac(before) === formatMac(learned.mac)) continue;
      state.mac = learned.mac;
      changed = true;
      const fields = { target: target.id, address: ipToString(target.ipaddr), mac: formatMac(learned.mac) };
      if (before) logger.warn("target-mac-changed", { ...fields, previous: formatMac(before) });
      else logger.info("target-mac-learned", fields);
    }
    if (changed) this.options.onMacChange();
  }

  /**
   * Three gratuitous ARPs for a VIP, one second apart, so neighbours update their caches; from
   * `mac` (a VRRP master's virtual MAC), else the interface's.
   */
  announce(vip: number, mac: Uint8Array = this.options.network.ownMac): void {
    for (let i = 0; i < GRATUITOUS_ARP_COUNT; i++) {
      const timer = setTimeout(() => {
        this.announcements.delete(timer);
        if (this.stopped) return;
        this.send(writeGratuitousArp(this.arpFrame, 0, mac, vip), "gratuitous arp for", vip);
      }, i * 1000);
      this.announcements.add(timer);
    }
    this.options.logger.info("vip-announced", { vip: ipToString(vip), gratuitous_arps: GRATUITOUS_ARP_COUNT });
  }

  /** Cancels the announcements still to come. */
  stop(): void {
    this.stopped = true;
    for (const timer of this.announcements) clearTimeout(timer);
    this.announcements.clear();
  }

  /**
   * Probes a new candidate MAC (an ARP request from `real`, which the workers' table waits to see
   * answered) and ends a probe: the reply adopted the candidate (the sightings show the new MAC)
   * or refuted it, or none came in time. Allocates only when a candidate appears or a probe ends.
   */
  private followCandidate(target: TargetDef, state: TargetMacState, nowMs: number): void {
    const { neighbours, logger } = this.options;
    if (state.probeStartedMs > -Infinity) {
      const answered = !neighbours.probing(target.id);
      if (!answered && nowMs - state.probeStartedMs < PROBE_TIMEOUT_MS) return;
      const unconfirmed = !answered && neighbours.endProbe(target.id);
      const kept = neighbours.read(target.id)?.mac;
      state.probeStartedMs = -Infinity;
      if (kept && formatMac(kept) === state.probedCandidate) return; // adopted: pollNeighbours logs the change
      state.refused++;
      if (nowMs - state.refusedLoggedMs >= NEIGHBOUR_LOG_MS) {
        logger.warn("target-mac-refused", {
          target: target.id,
          address: ipToString(target.ipaddr),
          mac: kept ? formatMac(kept) : "none",
          candidate: state.probedCandidate,
          reason: unconfirmed ? "no answer to bng's request" : "the target answered with its MAC",
          refused: state.refused,
        });
        state.refused = 0;
        state.refusedLoggedMs = nowMs;
      }
    }
    const seen = neighbours.candidateSightings(target.id);
    if (seen === state.candidateSightings || nowMs - state.lastProbeMs < PROBE_INTERVAL_MS) return;
    state.candidateSightings = seen;
    const candidate = neighbours.readCandidate(target.id);
    const source = this.options.realAddressFor(target);
    if (!candidate || source === undefined) return;
    neighbours.beginProbe(target.id, source);
    state.probeStartedMs = nowMs;
    state.lastProbeMs = nowMs;
    state.probedCandidate = formatMac(candidate);
    this.send(writeArpRequest(this.arpFrame, 0, this.options.network.ownMac, source, target.ipaddr), "arp request for", target.ipaddr);
  }

  /** A target's MAC answered ARP for a VIP (DSR misconfigured): logged at once, then at most once a minute. */
  private noteVipAnswers(target: TargetDef, state: TargetMacState, nowMs: number): void {
    const neighbours = this.options.neighbours;
    const answers = neighbours.vipAnswers(target.id);
    if (answers === state.vipAnswers || nowMs - state.vipAnswersLoggedMs < NEIGHBOUR_LOG_MS) return;
    this.options.logger.warn("target-answers-arp-for-vip", {
      target: target.id,
      address: ipToString(target.ipaddr),
      vip: ipToString(neighbours.lastVipAnswered(target.id)),
      frames: answers - state.vipAnswers,
    });
    state.vipAnswers = answers;
    state.vipAnswersLoggedMs = nowMs;
  }

  private stateOf(id: number): TargetMacState {
    let state = this.macs.get(id);
    if (!state) {
      state = newState();
      this.macs.set(id, state);
    }
    return state;
  }

  /** Sends the ARP frame; `what` and `address` name it in the log line of a failure (built only then). */
  private send(length: number, what: string, address: number): void {
    try {
      this.options.network.sendFrame(this.arpFrame, length);
    } catch (error) {
      this.options.logger.warn("send-failed", { what: `${what} ${ipToString(address)}`, error: (error as Error).message });
    }
  }
}

function newState(): TargetMacState {
  return {
    mac: undefined,
    sightings: 0,
    lastArpRequestMs: -Infinity,
    candidateSightings: 0,
    probeStartedMs: -Infinity,
    probedCandidate: "",
    lastProbeMs: -Infinity,
    refused: 0,
    refusedLoggedMs: -Infinity,
    vipAnswers: 0,
    vipAnswersLoggedMs: -Infinity,
  };
}

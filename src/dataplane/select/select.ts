// Choosing a target for a new session among a server's active list (see table.ts): its
// selectable primaries, or its selectable backups when no primary is. Stateful methods keep
// their state per worker: round-robin counters (by server id) and the random generator are
// private to the selector, so workers never contend for a cache line; with several workers
// each one rotates on its own and the sum still spreads evenly. Methods agent and bandwidth
// read what the control thread measures (target-metrics.ts).

import type { SessionTable } from "../sessions.ts";
import type { ForwardingTable } from "../table.ts";
import type { TargetMetrics } from "../target-metrics.ts";
import {
  ACTIVE_STRIDE,
  ACTIVE_TARGET,
  ID_LIMIT,
  METHOD_AGENT,
  METHOD_BANDWIDTH,
  METHOD_FIRST,
  METHOD_HASH,
  METHOD_MAGLEV,
  METHOD_RANDOM,
  METHOD_RR,
  METHOD_SESSION,
  METHOD_WRANDOM,
  METHOD_WRR,
  S_ACTIVE_AT,
  S_ACTIVE_COUNT,
  S_ID,
  S_MAGLEV_AT,
  S_MAGLEV_SIZE,
  S_METHOD,
  S_TOTAL_WEIGHT,
  S_WRR_STRIDE,
  T_ID,
} from "../table-layout.ts";
import { fnv1aIpv4 } from "./hash.ts";
import { maglevSlot } from "./maglev.ts";
import { positionOfWeight } from "./weighted.ts";

/**
 * What a method's pick takes besides the table and the client: a worker's round-robin turns and
 * random draws (both advance), and the session counts. A worker's TargetSelector keeps the real
 * ones; `bng explain` passes a SelectionPreview, which advances nothing.
 */
export interface SelectionState {
  nextTurn(serverId: number): number;
  nextRandomBelow(bound: number): number;
  sessionsOfTarget(targetId: number): number;
  /** The target's last agent load (`byLoad`) or its measured bandwidth (methods agent and bandwidth). */
  measuredOfTarget(targetId: number, byLoad: boolean): number;
}

/**
 * The table index of the target for a new session of `clientIp`/`clientPort` on server
 * `serverIndex`, or -1 when the server has no active target. `clientPort` is the key port:
 * 0 unless the server keys sessions on the port too.
 */
export function selectTarget(table: ForwardingTable, serverIndex: number, clientIp: number, clientPort: number, state: SelectionState): number {
  const serverAt = table.serverAt(serverIndex);
  const count = table.field(serverAt, S_ACTIVE_COUNT);
  if (count === 0) return -1;
  const activeAt = table.field(serverAt, S_ACTIVE_AT);
  const method = table.field(serverAt, S_METHOD);
  let position: number;
  if (method === METHOD_RR) {
    position = state.nextTurn(table.field(serverAt, S_ID)) % count;
  } else if (method === METHOD_RANDOM) {
    position = state.nextRandomBelow(count);
  } else if (method === METHOD_HASH) {
    position = fnv1aIpv4(clientIp) % count;
  } else if (method === METHOD_SESSION) {
    position = leastSessionsPosition(table, activeAt, count, state);
  } else if (method === METHOD_WRR) {
    const total = table.field(serverAt, S_TOTAL_WEIGHT);
    const turn = state.nextTurn(table.field(serverAt, S_ID)) % total;
    // Multiply in doubles: turn * stride may exceed 2^32 but stays exact below 2^53.
    position = positionOfWeight(table.words, activeAt, count, (turn * table.field(serverAt, S_WRR_STRIDE)) % total);
  } else if (method === METHOD_WRANDOM) {
    position = positionOfWeight(table.words, activeAt, count, state.nextRandomBelow(table.field(serverAt, S_TOTAL_WEIGHT)));
  } else if (method === METHOD_MAGLEV) {
    return consistentTarget(table, serverIndex, clientIp, clientPort);
  } else if (method === METHOD_FIRST) {
    position = 0;
  } else if (method === METHOD_AGENT || method === METHOD_BANDWIDTH) {
    position = leastMeasuredPosition(table, activeAt, count, table.field(serverAt, S_ID), method === METHOD_AGENT, state);
  } else {
    return -1;
  }
  return table.words[activeAt + position * ACTIVE_STRIDE + ACTIVE_TARGET] ?? -1;
}

/** The active position whose target has the fewest sessions; the first one on a tie. */
function leastSessionsPosition(table: ForwardingTable, activeAt: number, count: number, state: SelectionState): number {
  let best = 0;
  let bestSessions = Infinity;
  for (let position = 0; position < count; position++) {
    const targetIndex = table.words[activeAt + position * ACTIVE_STRIDE + ACTIVE_TARGET] ?? 0;
    const sessions = state.sessionsOfTarget(table.field(table.targetAt(targetIndex), T_ID));
    if (sessions < bestSessions) {
      bestSessions = sessions;
      best = position;
    }
  }
  return best;
}

/**
 * The active position whose target has the least agent load (`byLoad`) or bandwidth. Targets
 * that tie for it (all idle, or none has reported a load yet) take turns, instead of the first
 * of them taking every new client until the next measurement.
 */
function leastMeasuredPosition(table: ForwardingTable, activeAt: number, count: number, serverId: number, byLoad: boolean, state: SelectionState): number {
  let least = Infinity;
  let ties = 0;
  for (let position = 0; position < count; position++) {
    const value = measuredAt(table, activeAt, position, byLoad, state);
    if (value < least) {
      least = value;
      ties = 1;
    } else if (value === least) {
      ties++;
    }
  }
  // Only a tie takes a turn (explain reports a pick that depends on none).
  let turn = ties > 1 ? state.nextTurn(serverId) % ties : 0;
  for (let position = 0; position < count; position++) {
    const value = measuredAt(table, activeAt, position, byLoad, state);
    if (value === least && turn-- === 0) return position;
  }
  // The control thread changed a value between the two passes: the first target will do.
  return 0;
}

function measuredAt(table: ForwardingTable, activeAt: number, position: number, byLoad: boolean, state: SelectionState): number {
  const id = table.field(table.targetAt(table.words[activeAt + position * ACTIVE_STRIDE + ACTIVE_TARGET] ?? 0), T_ID);
  return state.measuredOfTarget(id, byLoad);
}

export class TargetSelector implements SelectionState {
  private readonly turns = new Uint32Array(ID_LIMIT);
  private randomState: number;

  /** `seed` starts the xorshift generator of random and wrandom (any non-zero value). */
  constructor(
    private readonly sessions: SessionTable,
    private readonly metrics: TargetMetrics,
    seed: number,
  ) {
    this.randomState = seed | 0 || 1;
  }

  /** selectTarget with this worker's turns and random generator. */
  select(table: ForwardingTable, serverIndex: number, clientIp: number, clientPort: number): number {
    return selectTarget(table, serverIndex, clientIp, clientPort, this);
  }

  nextTurn(serverId: number): number {
    const turn = this.turns[serverId] ?? 0;
    this.turns[serverId] = turn + 1;
    return turn;
  }

  /** xorshift32, scaled to [0, bound) by multiplication (no modulo bias worth measuring). */
  nextRandomBelow(bound: number): number {
    let x = this.randomState;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.randomState = x;
    return Math.floor(((x >>> 0) / 4294967296) * bound);
  }

  sessionsOfTarget(targetId: number): number {
    return this.sessions.sessionsOfTarget(targetId);
  }

  measuredOfTarget(targetId: number, byLoad: boolean): number {
    return byLoad ? this.metrics.load(targetId) : this.metrics.bandwidth(targetId);
  }
}

/**
 * The target index the server's consistent-hash (Maglev) table gives the client, whatever the
 * server's method, or -1 when the server has no active target: method maglev's pick, and every
 * method's while new sessions are refused (flood defence), when no session may remember a pick.
 */
export function consistentTarget(table: ForwardingTable, serverIndex: number, clientIp: number, clientPort: number): number {
  const serverAt = table.serverAt(serverIndex);
  const maglevAt = table.field(serverAt, S_MAGLEV_AT);
  if (maglevAt < 0) return -1;
  const position = table.maglev[maglevAt + maglevSlot(clientIp, clientPort, table.field(serverAt, S_MAGLEV_SIZE))] ?? 0;
  return table.words[table.field(serverAt, S_ACTIVE_AT) + position * ACTIVE_STRIDE + ACTIVE_TARGET] ?? -1;
}

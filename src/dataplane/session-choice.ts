// Which target a client's TCP or UDP frame goes to: its session's, or a new session's, made by
// the server's method within the new-session budget (`set newsessions`, admission.ts). Beyond
// the budget (a flood of new sources) a new client is served without a session by the server's
// consistent-hash table, so the table keeps the clients it has. And the end of a client's TCP
// connection: FIN or RST shortens its session's idle timeout to `set fintimeout`, as IPVS
// does; a new SYN gives it its server's timeout back. A session whose target went down follows
// its server's `downpolicy`: rescheduled (a new target), held (its packets dropped until the
// target is up again or the session expires), or reset (the processor answers with a RST).

import { SessionAdmission } from "./admission.ts";
import * as C from "./counters.ts";
import { TCP_FLAG_ACK, TCP_FLAG_FIN, TCP_FLAG_RST, TCP_FLAG_SYN } from "./frame.ts";
import { consistentTarget, TargetSelector } from "./select/select.ts";
import { JOURNAL_CREATED, type SessionJournal } from "./session-journal.ts";
import type { SessionTable } from "./sessions.ts";
import type { ForwardingTable } from "./table.ts";
import type { TargetMetrics } from "./target-metrics.ts";
import { DOWN_POLICY_HOLD, DOWN_POLICY_RESET, S_ID, S_TIMEOUT_S, T_ID } from "./table-layout.ts";

/** `tcpFlags` of a frame that is not TCP. */
export const NOT_TCP = -1;

// What target() returns when it returns no target index:
/** No target is available. */
export const NO_TARGET = -1;
/** The session's target is down and the frame is dropped (`downpolicy hold`; a client's RST under `reset`). */
export const DROP_FOR_DOWN_TARGET = -2;
/** The session's target is down and the client's TCP segment is answered with a RST (`downpolicy reset`). */
export const RESET_FOR_DOWN_TARGET = -3;

const SESSIONS_REFUSED_AT = C.EVENTS_AT + C.EVENT.sessions_refused;
const FLOOD_STATELESS_AT = C.EVENTS_AT + C.EVENT.flood_stateless;
const SESSIONS_CLOSED_AT = C.EVENTS_AT + C.EVENT.sessions_closed;

export class SessionChooser {
  private readonly selector: TargetSelector;
  private readonly admission: SessionAdmission;

  /**
   * `counters` is the worker's region (counters.ts); `randomSeed` seeds the random methods;
   * `journal` records the sessions this worker creates for a VRRP peer (none without `vrrp`).
   */
  constructor(
    private readonly sessions: SessionTable,
    private readonly counters: Float64Array,
    metrics: TargetMetrics,
    randomSeed: number,
    private readonly journal?: SessionJournal,
  ) {
    this.selector = new TargetSelector(sessions, metrics, randomSeed);
    this.admission = new SessionAdmission(sessions.admissionWords);
  }

  /**
   * The target index for a client's frame to server `server` (table index), or NO_TARGET,
   * DROP_FOR_DOWN_TARGET or RESET_FOR_DOWN_TARGET. `keyPort` is the session key's port (0 unless
   * the server keys on it), `bucketAt` the key's first bucket (`sessions.bucketOf`), `tcpFlags`
   * the frame's TCP flags or NOT_TCP.
   */
  target(table: ForwardingTable, server: number, clientIp: number, keyPort: number, bucketAt: number, nowS: number, tcpFlags: number): number {
    const serverAt = table.serverAt(server);
    const serverId = table.field(serverAt, S_ID);
    const timeoutS = table.field(serverAt, S_TIMEOUT_S);
    const sessions = this.sessions;
    let boundId = sessions.findIn(bucketAt, serverId, clientIp, keyPort, nowS, timeoutS);
    let bound = table.targetIndexOfId(boundId);
    if (bound >= 0) {
      if (table.keepsSession(server, bound)) {
        if (tcpFlags !== NOT_TCP) this.followConnection(table, serverId, clientIp, keyPort, nowS, timeoutS, tcpFlags, sessions.foundClosing);
        return bound;
      }
      const policy = table.downPolicyOf(server, bound);
      if (policy === DOWN_POLICY_HOLD) return DROP_FOR_DOWN_TARGET;
      // Under reset a SYN opens a new connection, rebalanced below, and UDP is rescheduled; a
      // RST is never answered with one (RFC 793).
      if (policy === DOWN_POLICY_RESET && tcpFlags !== NOT_TCP && !opensConnection(tcpFlags)) {
        return (tcpFlags & TCP_FLAG_RST) !== 0 ? DROP_FOR_DOWN_TARGET : RESET_FOR_DOWN_TARGET;
      }
    }
    // A client with a session whose target went away is re-balanced in place: not a new session.
    if (boundId < 0 && !this.admission.admit(nowS, table.newSessionsPerS)) return this.refused(table, server, clientIp, keyPort, bucketAt, nowS, timeoutS);
    // Two rounds at most: a concurrent worker may have bound the client to a target this
    // generation of the table no longer keeps; that binding is then replaced once.
    for (let round = 0; round < 2; round++) {
      const chosen = this.choose(table, server, clientIp, keyPort, nowS, timeoutS, tcpFlags);
      if (chosen < 0) return NO_TARGET;
      const chosenId = table.field(table.targetAt(chosen), T_ID);
      boundId = sessions.bind(serverId, clientIp, keyPort, nowS, timeoutS, chosenId, boundId);
      if (boundId === chosenId) this.journal?.append(JOURNAL_CREATED, serverId, clientIp, keyPort, chosenId, nowS);
      bound = boundId === chosenId ? chosen : table.targetIndexOfId(boundId);
      if (bound >= 0 && table.keepsSession(server, bound)) {
        if (tcpFlags !== NOT_TCP) this.followConnection(table, serverId, clientIp, keyPort, nowS, timeoutS, tcpFlags, false);
        return bound;
      }
    }
    return NO_TARGET;
  }

  /**
   * The target that sent a packet to the client, for an ICMP error about it: the client's
   * session's (not refreshed: the error is no packet of the client's), or while new sessions are
   * refused (and a server timeout after) the consistent-hash pick that served it without one.
   * -1 when there is neither.
   */
  quotedClientTarget(table: ForwardingTable, server: number, clientIp: number, keyPort: number, nowS: number): number {
    const serverAt = table.serverAt(server);
    const timeoutS = table.field(serverAt, S_TIMEOUT_S);
    const bound = table.targetIndexOfId(this.sessions.peek(table.field(serverAt, S_ID), clientIp, keyPort, nowS, timeoutS));
    if (bound >= 0 && table.keepsSession(server, bound)) return bound;
    return this.admission.refusedWithin(nowS, timeoutS) ? consistentTarget(table, server, clientIp, keyPort) : -1;
  }

  /** A new client beyond the budget: the consistent-hash target, no session made. */
  private refused(table: ForwardingTable, server: number, clientIp: number, keyPort: number, bucketAt: number, nowS: number, timeoutS: number): number {
    // A lookup that raced another worker creating this very key's session misses too: look once more.
    const again = table.targetIndexOfId(this.sessions.findIn(bucketAt, table.field(table.serverAt(server), S_ID), clientIp, keyPort, nowS, timeoutS));
    if (again >= 0 && table.keepsSession(server, again)) return again;
    this.counters[SESSIONS_REFUSED_AT] = (this.counters[SESSIONS_REFUSED_AT] ?? 0) + 1;
    const target = consistentTarget(table, server, clientIp, keyPort);
    if (target >= 0) this.counters[FLOOD_STATELESS_AT] = (this.counters[FLOOD_STATELESS_AT] ?? 0) + 1;
    return target;
  }

  /**
   * A new session's target. The server's method, but for a client that is not opening a TCP
   * connection (no SYN, or UDP) while new sessions are refused and for a server timeout after:
   * it may be in the middle of one that the consistent-hash pick served without a session, and
   * must stay with that target.
   */
  private choose(table: ForwardingTable, server: number, clientIp: number, keyPort: number, nowS: number, timeoutS: number, tcpFlags: number): number {
    if (!opensConnection(tcpFlags) && this.admission.refusedWithin(nowS, timeoutS)) return consistentTarget(table, server, clientIp, keyPort);
    return this.selector.select(table, server, clientIp, keyPort);
  }

  /** FIN or RST from the client: its session closes (fintimeout); a SYN reopens a closing one. */
  private followConnection(table: ForwardingTable, serverId: number, clientIp: number, keyPort: number, nowS: number, timeoutS: number, tcpFlags: number, closing: boolean): void {
    if ((tcpFlags & (TCP_FLAG_FIN | TCP_FLAG_RST)) !== 0) {
      if (!closing && this.sessions.close(serverId, clientIp, keyPort, nowS, table.finTimeoutS)) {
        this.counters[SESSIONS_CLOSED_AT] = (this.counters[SESSIONS_CLOSED_AT] ?? 0) + 1;
      }
    } else if (closing && opensConnection(tcpFlags)) {
      this.sessions.reopen(serverId, clientIp, keyPort, nowS, timeoutS);
    }
  }
}

/** A SYN without ACK: the client opens a connection (`tcpFlags` NOT_TCP for UDP). */
function opensConnection(tcpFlags: number): boolean {
  return tcpFlags !== NOT_TCP && (tcpFlags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) === TCP_FLAG_SYN;
}

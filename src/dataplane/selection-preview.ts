// `bng explain`: where a client's next packet to a server goes, found the way a worker finds it
// (session-choice.ts) by the data plane's own lookups and selection, run without side effects:
// the session is peeked at (not refreshed), no session is made, no round-robin turn taken and
// no random number drawn. What a stateful method's next pick depends on is reported instead.
import { SessionAdmission } from "./admission.ts";
import { consistentTarget, selectTarget, type SelectionState } from "./select/select.ts";
import type { SessionTable } from "./sessions.ts";
import type { ForwardingTable } from "./table.ts";
import type { TargetMetrics } from "./target-metrics.ts";
import { S_ID, S_TIMEOUT_S } from "./table-layout.ts";

/** A SelectionState that advances nothing and notes what the method asked for. */
class PreviewState implements SelectionState {
  usedTurn = false;
  usedRandom = false;

  constructor(
    private readonly sessions: SessionTable,
    private readonly metrics: TargetMetrics,
  ) {}

  nextTurn(): number {
    this.usedTurn = true;
    return 0;
  }

  nextRandomBelow(): number {
    this.usedRandom = true;
    return 0;
  }

  sessionsOfTarget(targetId: number): number {
    return this.sessions.sessionsOfTarget(targetId);
  }

  measuredOfTarget(targetId: number, byLoad: boolean): number {
    return byLoad ? this.metrics.load(targetId) : this.metrics.bandwidth(targetId);
  }
}

export interface ClientPreview {
  /** The target id of the client's live session, or -1. */
  sessionTargetId: number;
  /** Whether that session still takes the client's packets (its target is usable and listed: keepsSession). */
  sessionKept: boolean;
  /** The method's pick for a new session (table index; -1 when no target is active). Only a pick when `dependsOn` is undefined. */
  methodTarget: number;
  /** What the method's next pick depends on besides the table and the client: a worker's round-robin turn, or a random draw. */
  dependsOn: "turn" | "random" | undefined;
  /**
   * While new sessions are refused (flood defence, and for a server timeout after): the
   * consistent-hash target a packet that opens no TCP connection goes to without a session; -1 otherwise.
   */
  statelessTarget: number;
}

/** The preview for `clientIp` (and `keyPort`: 0 unless the server keys sessions on the port) on server `server` (table index) at `nowS`. */
export function previewClient(table: ForwardingTable, sessions: SessionTable, metrics: TargetMetrics, server: number, clientIp: number, keyPort: number, nowS: number): ClientPreview {
  const serverAt = table.serverAt(server);
  const timeoutS = table.field(serverAt, S_TIMEOUT_S);
  const sessionTargetId = sessions.peek(table.field(serverAt, S_ID), clientIp, keyPort, nowS, timeoutS);
  const bound = table.targetIndexOfId(sessionTargetId);
  const state = new PreviewState(sessions, metrics);
  const methodTarget = selectTarget(table, server, clientIp, keyPort, state);
  const refusing = new SessionAdmission(sessions.admissionWords).refusedWithin(nowS, timeoutS);
  return {
    sessionTargetId,
    sessionKept: bound >= 0 && table.keepsSession(server, bound),
    methodTarget,
    dependsOn: state.usedTurn ? "turn" : state.usedRandom ? "random" : undefined,
    statelessTarget: refusing ? consistentTarget(table, server, clientIp, keyPort) : -1,
  };
}

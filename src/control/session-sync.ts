// Session sync between the two nodes of a VRRP pair, over UDP between their `real` addresses.
// The master streams the sessions its workers journal as they create them, in batches; sends
// every live session again within REFRESH_PERIOD_S (a slow walk of the table), so the backup's
// copies stay as fresh as the master's; and sends the whole table at once when the peer appears
// (a new boot epoch), asks, or missed sessions (a journal overflowed). The backup installs what it receives in its own session table, so
// that after a takeover every client stays on its target. Removals are not sent: the backup's
// sessions expire by the same timeouts, and its own health checks end the sessions of a target
// that went down, as the master's do. Datagrams are checked by
// src/ha/sync-message.ts (HMAC with the `key`, else the peer's address only); a bad one is
// counted and dropped, never installed.
import { ipToString } from "../config/model.ts";
import type { SessionTable } from "../dataplane/sessions.ts";
import { JOURNAL_CREATED } from "../dataplane/session-journal.ts";
import type { SyncJournal } from "../ha/sync-journal.ts";
import {
  createSyncRecord,
  MAX_SYNC_DATAGRAM,
  MAX_SYNC_IDLE_S,
  SYNC_ACCEPTED,
  SYNC_BATCH,
  SYNC_FULL_END,
  SYNC_FULL_REQUEST,
  SYNC_FULL_START,
  SYNC_RESULTS,
  SYNC_UPSERT,
  SyncEncoder,
  SyncReceiver,
} from "../ha/sync-message.ts";
import type { Logger } from "../log/logger.ts";

/** The UDP port both nodes send from and listen on (2771: BalanceNG's enterprise number). */
export const SYNC_PORT = 2771;
/** Journal records sent per tick at most; the rest wait for the next tick (the journal holds them). */
const MAX_RECORDS_PER_TICK = 8192;
/** Session table slots a full transfer walks per tick: about 200 k slots a second at 10 ticks. */
const FULL_TRANSFER_SLOTS_PER_TICK = 20_000;
/** How often a node without the peer's table asks for it. */
const REQUEST_INTERVAL_MS = 2000;
/**
 * The master sends every live session again within this long (its idle time with it), so the
 * backup's copies, which expire by the same timeouts, stay alive while the master's do: a walk
 * of the table in slices, a share at each of the ten ticks a second.
 */
const REFRESH_PERIOD_S = 30;
const TICKS_PER_SECOND = 10;

/** How datagrams travel: a UDP socket bound to this node's real address, sending to the peer's. */
export interface SyncTransport {
  send(datagram: Uint8Array, length: number): void;
  /** Sets the one handler of received datagrams (with their source address). */
  onDatagram(handler: (datagram: Uint8Array, length: number, sourceIp: number) => void): void;
  close(): void;
}

export interface SessionSyncOptions {
  /** This node's real address (the sender id) and the peer's. */
  realAddress: number;
  peerAddress: number;
  key: string | undefined;
  transport: SyncTransport;
  sessions: SessionTable;
  /** One journal per data-plane worker. */
  journals: readonly SyncJournal[];
  /** The session clock (monotonic ms) and the idle timeout of each server's sessions. */
  now: () => number;
  timeoutOf(serverId: number): number | undefined;
  /** Whether this node is master (streams) or not (installs). */
  isMaster(): boolean;
  /** A full table from the peer arrived whole: preemption may go ahead. */
  onTableReceived(): void;
  logger: Logger;
}

export interface SyncStatus {
  peer: string;
  sent: number;
  received: number;
  rejected: number;
  /** Seconds since the last accepted datagram; null before the first. */
  last_s: number | null;
  /** Sessions sent and installed. */
  sessions_sent: number;
  sessions_installed: number;
  full_transfers_sent: number;
  full_transfers_received: number;
  journal_overflows: number;
  /** Rejected datagrams by reason. */
  rejected_by: Record<string, number>;
}

export class SessionSync {
  private readonly encoder: SyncEncoder;
  private readonly receiver: SyncReceiver;
  private readonly record = createSyncRecord();
  private sent = 0;
  private sessionsSent = 0;
  private sessionsInstalled = 0;
  private fullTransfersSent = 0;
  private fullTransfersReceived = 0;
  private journalOverflows = 0;
  /** The next slot of a full transfer under way, or -1. */
  private transferAt = -1;
  /** The next slot of the refresh walk. */
  private refreshAt = 0;
  private transferRecords = 0;
  /** Whether this node holds the peer's table: a transfer arrived whole since it started. */
  private tableReceived = false;
  private receivingTransfer = false;
  private lastRequestMs = -Infinity;
  private readonly nowS: () => number;

  constructor(private readonly options: SessionSyncOptions) {
    this.encoder = new SyncEncoder({ buffer: new Uint8Array(MAX_SYNC_DATAGRAM + 64), senderId: options.realAddress, epochMs: Date.now(), ...(options.key ? { key: options.key } : {}) });
    this.receiver = new SyncReceiver({ peerAddress: options.peerAddress, ...(options.key ? { key: options.key } : {}) });
    this.nowS = () => options.sessions.secondsAt(options.now());
    options.transport.onDatagram((datagram, length, sourceIp) => this.receive(datagram, length, sourceIp));
  }

  /** The control timer's tick: stream the journals (master), go on with a transfer, or ask for the table. */
  tick(): void {
    const { journals, isMaster } = this.options;
    let overflowed = 0;
    for (const journal of journals) overflowed += journal.takeOverflows();
    if (!isMaster()) {
      // A backup's workers forward nothing, so their journals hold nothing worth sending.
      for (const journal of journals) journal.drain(journal.pending, () => {});
      if (!this.tableReceived && this.options.now() - this.lastRequestMs >= REQUEST_INTERVAL_MS) {
        this.lastRequestMs = this.options.now();
        this.sendControl(SYNC_FULL_REQUEST, 0);
      }
      return;
    }
    if (overflowed > 0) {
      this.journalOverflows += overflowed;
      this.options.logger.warn("sync-journal-overflow", { records: overflowed, effect: "the whole table is sent to the peer again" });
      this.startTransfer();
    }
    this.streamJournals();
    if (this.transferAt >= 0) this.continueTransfer();
    else this.refreshSlice();
  }

  /** The next share of the refresh walk: every live session is sent again once per REFRESH_PERIOD_S. */
  private refreshSlice(): void {
    const { sessions } = this.options;
    const nowS = this.nowS();
    const share = Math.ceil(sessions.slotCount / (REFRESH_PERIOD_S * TICKS_PER_SECOND));
    this.refreshAt = sessions.visitLive(this.refreshAt, share, nowS, (serverId, clientIp, clientPort, targetId, lastSeenS) =>
      this.addUpsert(serverId, clientIp, clientPort, targetId, nowS - lastSeenS),
    );
    if (this.refreshAt >= sessions.slotCount) this.refreshAt = 0;
    if (this.encoder.recordCount > 0) this.flush();
  }

  status(): SyncStatus {
    const counts = this.receiver.counts;
    const rejectedBy: Record<string, number> = {};
    let rejected = 0;
    SYNC_RESULTS.forEach((name, index) => {
      const count = counts[index] ?? 0;
      if (index === SYNC_ACCEPTED || count === 0) return;
      rejectedBy[name] = count;
      rejected += count;
    });
    const last = this.receiver.lastAcceptedAtMs;
    return {
      peer: ipToString(this.options.peerAddress),
      sent: this.sent,
      received: counts[SYNC_ACCEPTED] ?? 0,
      rejected,
      last_s: last < 0 ? null : Math.round((this.options.now() - last) / 100) / 10,
      sessions_sent: this.sessionsSent,
      sessions_installed: this.sessionsInstalled,
      full_transfers_sent: this.fullTransfersSent,
      full_transfers_received: this.fullTransfersReceived,
      journal_overflows: this.journalOverflows,
      rejected_by: rejectedBy,
    };
  }

  close(): void {
    this.options.transport.close();
  }

  private streamJournals(): void {
    const nowS = this.nowS();
    let budget = MAX_RECORDS_PER_TICK;
    for (const journal of this.options.journals) {
      budget -= journal.drain(budget, (op, serverId, clientIp, clientPort, targetId, timeS) => {
        if (op === JOURNAL_CREATED) this.addUpsert(serverId, clientIp, clientPort, targetId, nowS - timeS);
      });
    }
    if (this.encoder.recordCount > 0) this.flush();
  }

  private startTransfer(): void {
    if (this.encoder.recordCount > 0) this.flush();
    this.transferAt = 0;
    this.transferRecords = 0;
    this.fullTransfersSent++;
    this.sendControl(SYNC_FULL_START, this.options.sessions.created >>> 0);
    this.options.logger.info("sync-transfer-started", { peer: ipToString(this.options.peerAddress) });
  }

  private continueTransfer(): void {
    const { sessions } = this.options;
    const nowS = this.nowS();
    this.transferAt = sessions.visitLive(this.transferAt, FULL_TRANSFER_SLOTS_PER_TICK, nowS, (serverId, clientIp, clientPort, targetId, lastSeenS) => {
      this.addUpsert(serverId, clientIp, clientPort, targetId, nowS - lastSeenS);
      this.transferRecords++;
    });
    if (this.encoder.recordCount > 0) this.flush();
    if (this.transferAt < sessions.slotCount) return;
    this.transferAt = -1;
    this.sendControl(SYNC_FULL_END, this.transferRecords);
    this.options.logger.info("sync-transfer-sent", { peer: ipToString(this.options.peerAddress), sessions: this.transferRecords });
  }

  private addUpsert(serverId: number, clientIp: number, clientPort: number, targetId: number, idleS: number): void {
    const idle = idleS < 0 ? 0 : idleS > MAX_SYNC_IDLE_S ? MAX_SYNC_IDLE_S : idleS;
    if (!this.encoder.addUpsert(serverId, clientIp, clientPort, targetId, idle)) {
      this.flush();
      this.encoder.addUpsert(serverId, clientIp, clientPort, targetId, idle);
    }
    this.sessionsSent++;
  }

  private flush(): void {
    this.send(this.encoder.finishBatch());
  }

  private sendControl(type: number, value: number): void {
    this.send(this.encoder.writeControl(type, value));
  }

  private send(length: number): void {
    try {
      this.options.transport.send(this.encoder.buffer, length);
      this.sent++;
    } catch (error) {
      this.options.logger.warn("send-failed", { what: `session sync to ${ipToString(this.options.peerAddress)}`, error: (error as Error).message });
    }
  }

  private receive(datagram: Uint8Array, length: number, sourceIp: number): void {
    const receiver = this.receiver;
    if (receiver.receive(datagram, length, sourceIp, this.options.now()) !== SYNC_ACCEPTED) return;
    // A peer that restarted has an empty table: a master sends it the whole of its own.
    if (receiver.newEpoch && this.options.isMaster() && receiver.type !== SYNC_FULL_REQUEST) this.startTransfer();
    switch (receiver.type) {
      case SYNC_FULL_REQUEST:
        if (this.options.isMaster() && this.transferAt < 0) this.startTransfer();
        return;
      case SYNC_FULL_START:
        this.receivingTransfer = true;
        return;
      case SYNC_FULL_END:
        if (!this.receivingTransfer) return;
        this.receivingTransfer = false;
        this.fullTransfersReceived++;
        this.options.logger.info("sync-transfer-received", { peer: ipToString(this.options.peerAddress), sessions: receiver.value });
        if (!this.tableReceived) {
          this.tableReceived = true;
          this.options.onTableReceived();
        }
        return;
      case SYNC_BATCH:
        if (!this.options.isMaster()) this.install(receiver);
        return;
    }
  }

  /** Installs an accepted batch's records in the session table (a backup's). */
  private install(receiver: SyncReceiver): void {
    const { sessions, timeoutOf } = this.options;
    const nowS = this.nowS();
    const record = this.record;
    for (let i = 0; i < receiver.recordCount; i++) {
      receiver.record(i, record);
      if (record.op !== SYNC_UPSERT) continue;
      const timeoutS = timeoutOf(record.serverId);
      // A server this node does not have: the configurations differ; nothing to install.
      if (timeoutS === undefined) continue;
      const lastSeenS = nowS - record.idleS;
      const current = sessions.find(record.serverId, record.clientIp, record.clientPort, nowS, timeoutS);
      sessions.bind(record.serverId, record.clientIp, record.clientPort, lastSeenS, timeoutS, record.targetId, current !== record.targetId ? current : -1);
      this.sessionsInstalled++;
    }
  }
}

// Where a worker records the sessions it creates, so that a VRRP master can stream them to its
// peer (src/ha/sync-journal.ts is the ring; src/control/session-sync.ts drains it). An interface
// here, so the data plane needs nothing of the HA code.

/** The operation of a session created (the only one a worker records). */
export const JOURNAL_CREATED = 1;

/** Appends a record; false when the journal is full (the record is dropped and counted there). */
export interface SessionJournal {
  append(op: number, serverId: number, clientIp: number, clientPort: number, targetId: number, timeS: number): boolean;
}

// bng's objects under BalanceNG's enterprise subtree (.1.3.6.1.4.1.2771, Inlab), as
// config/BNG-MIB.txt defines them, filled from one `bng status` report. The rows sit where
// BalanceNG has them (servers at .1.60, targets at .1.70, column C of row N at .60.C.N), so its
// munin plugin (name .60.3 and .70.3, traffic .60.15 and .70.27) reads bng unchanged.
import type { ServerStatus, StatusReport, TargetStatus } from "../control/status.ts";
import { compareOids, type Oid } from "./oid.ts";

/** The value types of Net-SNMP's `pass` protocol that bng answers with. */
export type PassType = "integer" | "gauge" | "counter64" | "ipaddress" | "string" | "timeticks";

export interface VarBind {
  oid: Oid;
  type: PassType;
  value: string;
}

/** .1.3.6.1.4.1.2771.1: BNG-MIB's root, `bng`. */
export const BNG_OID: Oid = [1, 3, 6, 1, 4, 1, 2771, 1];
export const SERVER_ENTRY_SUBID = 60;
export const TARGET_ENTRY_SUBID = 70;

interface Column<Row> {
  subid: number;
  /** The object's name in BNG-MIB. */
  name: string;
  type: PassType;
  value: (row: Row) => string | number;
}

const GAUGE32_MAX = 0xffff_ffff;

function gauge(value: number): number {
  return Math.min(Math.max(0, Math.floor(value)), GAUGE32_MAX);
}

/** A DisplayString: one line of printable text (the `pass` value ends at the line's end). */
function displayString(text: string | null): string {
  return (text ?? "").replace(/[\x00-\x1f\x7f]/g, " ");
}

const PROTOCOL_NUMBERS = { tcp: 6, udp: 17 } as const;
const TARGET_STATES = { up: 1, down: 2, disabled: 3 } as const;

export const SERVER_COLUMNS: readonly Column<ServerStatus>[] = [
  { subid: 1, name: "bngServerIndex", type: "integer", value: (server) => server.id },
  { subid: 2, name: "bngServerAddress", type: "ipaddress", value: (server) => server.ipaddr },
  { subid: 3, name: "bngServerName", type: "string", value: (server) => displayString(server.name) },
  { subid: 4, name: "bngServerPort", type: "integer", value: (server) => server.port },
  { subid: 5, name: "bngServerProtocol", type: "integer", value: (server) => PROTOCOL_NUMBERS[server.protocol] },
  { subid: 6, name: "bngServerMethod", type: "string", value: (server) => server.method },
  { subid: 7, name: "bngServerState", type: "integer", value: (server) => (server.enabled ? 1 : 2) },
  { subid: 8, name: "bngServerSessions", type: "gauge", value: (server) => gauge(server.sessions) },
  { subid: 9, name: "bngServerTargets", type: "string", value: (server) => server.targets.join(",") },
  { subid: 15, name: "bngServerPackets", type: "counter64", value: (server) => server.packets },
  { subid: 16, name: "bngServerBytes", type: "counter64", value: (server) => server.bytes },
];

export const TARGET_COLUMNS: readonly Column<TargetStatus>[] = [
  { subid: 1, name: "bngTargetIndex", type: "integer", value: (target) => target.id },
  { subid: 2, name: "bngTargetAddress", type: "ipaddress", value: (target) => target.ipaddr },
  { subid: 3, name: "bngTargetName", type: "string", value: (target) => displayString(target.name) },
  { subid: 4, name: "bngTargetPort", type: "integer", value: (target) => target.port },
  { subid: 5, name: "bngTargetState", type: "integer", value: (target) => TARGET_STATES[target.state] },
  { subid: 6, name: "bngTargetSessions", type: "gauge", value: (target) => gauge(target.sessions) },
  { subid: 7, name: "bngTargetReason", type: "string", value: (target) => displayString(target.reason) },
  { subid: 8, name: "bngTargetMac", type: "string", value: (target) => target.mac ?? "" },
  { subid: 27, name: "bngTargetPackets", type: "counter64", value: (target) => target.packets },
  { subid: 28, name: "bngTargetBytes", type: "counter64", value: (target) => target.bytes },
];

/** The scalars; each has the instance sub-identifier 0 (`bngNodeName.0`). */
export const SCALARS: readonly Column<{ report: StatusReport; nodeName: string }>[] = [
  { subid: 1, name: "bngVersion", type: "string", value: ({ report }) => displayString(report.version) },
  // TimeTicks count hundredths of a second and wrap at 2^32 (about 497 days).
  { subid: 2, name: "bngUptime", type: "timeticks", value: ({ report }) => (report.uptime_s * 100) % 2 ** 32 },
  { subid: 5, name: "bngNodeName", type: "string", value: ({ nodeName }) => displayString(nodeName) },
];

function tableRows<Row extends { id: number }>(entry: number, columns: readonly Column<Row>[], rows: readonly Row[]): VarBind[] {
  const sorted = [...rows].sort((a, b) => a.id - b.id);
  return columns.flatMap((column) =>
    sorted.map((row) => ({ oid: [...BNG_OID, entry, column.subid, row.id], type: column.type, value: String(column.value(row)) })),
  );
}

/** Every object bng answers for, in OID order. */
export function bngObjects(report: StatusReport, nodeName: string): VarBind[] {
  const scalars = SCALARS.map((scalar) => ({ oid: [...BNG_OID, scalar.subid, 0], type: scalar.type, value: String(scalar.value({ report, nodeName })) }));
  const all = [...scalars, ...tableRows(SERVER_ENTRY_SUBID, SERVER_COLUMNS, report.servers), ...tableRows(TARGET_ENTRY_SUBID, TARGET_COLUMNS, report.targets)];
  return all.sort((a, b) => compareOids(a.oid, b.oid));
}

/** GET: the object named exactly `oid`. */
export function getObject(objects: readonly VarBind[], oid: Oid): VarBind | undefined {
  return objects.find((object) => compareOids(object.oid, oid) === 0);
}

/** GETNEXT: the first object after `oid`. */
export function nextObject(objects: readonly VarBind[], oid: Oid): VarBind | undefined {
  return objects.find((object) => compareOids(object.oid, oid) > 0);
}

// Net-SNMP's `pass` protocol (snmpd.conf(5), "pass MIBOID PROG"): snmpd runs `PROG -g OID` for
// a GET and `PROG -n OID` for a GETNEXT and reads three lines back, the OID answered, its type
// and its value; no output means no such object. `PROG -s OID TYPE VALUE` (SET) is answered
// `not-writable`: bng's objects are read-only.
import type { StatusReport } from "../control/status.ts";
import { bngObjects, getObject, nextObject } from "./mib.ts";
import { formatOid, type Oid } from "./oid.ts";

export type PassRequest = "get" | "next";

/** The three lines for `request` of `oid`, or "" when there is no such object (or none after it). */
export function passReply(request: PassRequest, oid: Oid, report: StatusReport, nodeName: string): string {
  const objects = bngObjects(report, nodeName);
  const found = request === "get" ? getObject(objects, oid) : nextObject(objects, oid);
  return found ? `${formatOid(found.oid)}\n${found.type}\n${found.value}\n` : "";
}

/** What a SET gets: snmpd turns it into the notWritable error. */
export const PASS_SET_REPLY = "not-writable\n";

// SNMP object identifiers as arrays of sub-identifiers: parsed from the dotted text Net-SNMP
// passes (".1.3.6.1.4.1.2771.1.5"), compared in the lexicographic order GETNEXT walks.

/** RFC 2578 §3.5: at most 128 sub-identifiers, each at most 2^32-1. */
const MAX_SUBIDS = 128;
const MAX_SUBID = 0xffff_ffff;

export type Oid = readonly number[];

/** The OID of dotted text (a leading dot optional), or undefined when it is not one. */
export function parseOid(text: string): Oid | undefined {
  const body = text.startsWith(".") ? text.slice(1) : text;
  if (!/^[0-9]+(\.[0-9]+)*$/.test(body)) return undefined;
  const parts = body.split(".").map(Number);
  if (parts.length > MAX_SUBIDS || parts.some((part) => part > MAX_SUBID)) return undefined;
  return parts;
}

/** Net-SNMP's form: a leading dot, numeric. */
export function formatOid(oid: Oid): string {
  return `.${oid.join(".")}`;
}

/** Negative when a sorts before b, zero when equal, positive after. A prefix sorts first. */
export function compareOids(a: Oid, b: Oid): number {
  const shorter = Math.min(a.length, b.length);
  for (let i = 0; i < shorter; i++) {
    const difference = a[i]! - b[i]!;
    if (difference !== 0) return difference;
  }
  return a.length - b.length;
}

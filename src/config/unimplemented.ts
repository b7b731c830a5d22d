// BalanceNG keywords bng accepts, keeps and prints back without acting on them. Each use is a
// warning ("accepted, has no effect in bng"); none of them changes how BalanceNG forwards, so
// none stops `bng run` (the NAT/routing ones do: see check.ts and control/plan.ts). Their
// syntax is not known beyond what balanceng.md records, so bng reads them generically:
// a statement runs to the end of its line (or, with a `{`, to its matching `}`); a `set`
// name and a block parameter take one value.

export interface UnimplementedKeyword {
  /** How it is written, for docs and messages. */
  syntax: string;
  /** What it does in BalanceNG, as far as is known. */
  meaning: string;
}

export const UNIMPLEMENTED_STATEMENTS: Record<string, UnimplementedKeyword> = {
  ipalias: { syntax: "ipalias ...", meaning: "an additional address BalanceNG answers for on a network" },
  gwhc: { syntax: "gwhc ...", meaning: "health checking of the gateway, for VRRP tracking" },
  "arp-insert": { syntax: "arp-insert ADDRESS MAC", meaning: "a static ARP entry, for tests (bng resolves every MAC by ARP)" },
};

export const UNIMPLEMENTED_SETTINGS: Record<string, UnimplementedKeyword> = {
  bmduration: { syntax: "set bmduration VALUE", meaning: "duration of the built-in `benchmark` command" },
  bmpsize: { syntax: "set bmpsize VALUE", meaning: "packet size of the built-in `benchmark` command" },
  bmwsize: { syntax: "set bmwsize VALUE", meaning: "window size of the built-in `benchmark` command" },
};

/** Block parameters, by block kind. */
export const UNIMPLEMENTED_PARAMS: Record<string, Record<string, UnimplementedKeyword>> = {
  target: { limit: { syntax: "limit VALUE", meaning: "a per-target session or bandwidth limit" } },
};

/** The warning for a use of one of them; `what` is how it was written (`` `limit` in target 1 ``). */
export function unimplementedWarning(what: string, keyword: UnimplementedKeyword): string {
  return `${what} is accepted, has no effect in bng (in BalanceNG: ${keyword.meaning})`;
}

/** Tokens one generic statement may hold: more is not a configuration statement. */
export const MAX_RAW_TOKENS = 256;

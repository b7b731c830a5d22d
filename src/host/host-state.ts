// What bng changed on the box, on disk, so that a crash is repaired at the next start. Before
// each change bng records it (receive coalescing it turns off, a `real` address it adds, its
// nftables table, its routes; its XDP link once attached) in one state file per network namespace and interface under the run
// directory, whatever the control socket's path; a clean stop undoes the changes and removes
// the file. A start that finds a file (its bng was killed: the interface claim proves no other
// bng runs there) undoes what it lists first.
import { existsSync, readFileSync, readlinkSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { ensurePrivateDirectory, replacePrivateFile } from "./private-files.ts";

/** Where bng keeps its state files (and, by default, its control socket); `BNG_RUN_DIR` overrides it. */
export const DEFAULT_RUN_DIR = "/run/bng";

export function runDirectory(): string {
  return process.env.BNG_RUN_DIR || DEFAULT_RUN_DIR;
}

const MAX_STATE_BYTES = 64 * 1024;

const ChangesSchema = v.strictObject({
  /** Receive-coalescing features bng turned off, as `ethtool -k` names them. */
  offloadTurnedOff: v.pipe(v.array(v.pipe(v.string(), v.regex(/^[a-z0-9-]{1,64}$/))), v.maxLength(16)),
  /** Addresses bng added (CIDR). */
  addressesAdded: v.pipe(v.array(v.pipe(v.string(), v.regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/))), v.maxLength(256)),
  /** Whether bng made its nftables table. */
  filterTable: v.boolean(),
  /** Routes bng announced (`set announce`): table and VIP/32. */
  routes: v.pipe(v.array(v.strictObject({ table: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(0xffffffff)), cidr: v.pipe(v.string(), v.regex(/^\d{1,3}(\.\d{1,3}){3}\/32$/)) })), v.maxLength(4096)),
  /** The ids of the XDP links bng attached (`set io xdp`); absent in files of bngs before it. */
  xdpLinks: v.optional(v.pipe(v.array(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(0xffffffff))), v.maxLength(16))),
});
export type HostChanges = v.InferOutput<typeof ChangesSchema>;

const StateSchema = v.strictObject({
  version: v.literal(1),
  pid: v.pipe(v.number(), v.integer(), v.minValue(1)),
  ifname: v.pipe(v.string(), v.minLength(1), v.maxLength(15)),
  changes: ChangesSchema,
});
type StateFile = v.InferOutput<typeof StateSchema>;

/** The inode number of a network namespace from its link ("net:[4026531840]" -> "4026531840"). */
export function namespaceId(link: string): string {
  const id = /^net:\[(\d+)\]$/.exec(link.trim())?.[1];
  if (id === undefined) throw new HostStateError(`unexpected network namespace link ${JSON.stringify(link)}`);
  return id;
}

/** The state file of `ifname` in the network namespace `namespace` (namespaceId). */
export function hostStatePath(runDir: string, namespace: string, ifname: string): string {
  return join(runDir, `host-${namespace}-${ifname}.json`);
}

export class HostStateError extends Error {}

/** The changes a killed bng left recorded in `path`, or undefined when there is no file. Throws HostStateError for a file that is not one of bng's. */
export function readLeftChanges(path: string): { pid: number; changes: HostChanges } | undefined {
  if (!existsSync(path)) return undefined;
  const text = readFileSync(path, "utf8");
  if (text.length > MAX_STATE_BYTES) throw new HostStateError(`${path} is ${text.length} bytes, not a bng state file; remove it`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new HostStateError(`${path} is not valid JSON; remove it after checking the box by hand`);
  }
  const parsed = v.safeParse(StateSchema, json);
  if (!parsed.success) throw new HostStateError(`${path} is not a bng state file (${parsed.issues[0]?.message}); remove it after checking the box by hand`);
  return { pid: parsed.output.pid, changes: parsed.output.changes };
}

/** The record of this bng's changes to `ifname`, kept on disk as they happen. */
export class HostStateRecord {
  readonly changes: HostChanges = { offloadTurnedOff: [], addressesAdded: [], filterTable: false, routes: [], xdpLinks: [] };

  constructor(
    readonly path: string,
    private readonly ifname: string,
  ) {}

  /** Records `change` applied to the changes, before bng makes it. Throws when the file cannot be written. */
  record(change: (changes: HostChanges) => void): void {
    change(this.changes);
    const state: StateFile = { version: 1, pid: process.pid, ifname: this.ifname, changes: this.changes };
    replacePrivateFile(this.path, `${JSON.stringify(state)}\n`);
  }

  /** Everything is undone: the file goes. */
  remove(): void {
    if (existsSync(this.path)) unlinkSync(this.path);
  }
}

/** Opens the record for `ifname` under `runDir` (a private directory, created if needed). */
export function openHostStateRecord(runDir: string, ifname: string): HostStateRecord {
  ensurePrivateDirectory(runDir);
  return new HostStateRecord(hostStatePath(runDir, namespaceId(readlinkSync("/proc/self/ns/net")), ifname), ifname);
}

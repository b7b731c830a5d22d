// The control requests behind the console's views of the running configuration (`show
// parameters`, `show config`, `show vrrp`) and `clear counters`. `clear counters` keeps a
// baseline rather than zeroing the shared counters: the workers add to them without atomics, so
// a zero written from this thread could be overwritten by a worker's stale sum. The status
// (and so `show`, SNMP) reports counts since the baseline; the Prometheus metrics keep counting
// from the start, as a Prometheus counter must.
import { printConfig } from "../config/index.ts";
import type { Config } from "../config/model.ts";
import { SETTINGS } from "../config/schema.ts";
import type { CountersSnapshot, TrafficCount } from "../dataplane/counters.ts";
import { readCounters } from "../dataplane/counters.ts";
import type { ControlReply } from "./protocol.ts";
import type { HaStatus } from "./ha.ts";

/** What these requests see of the daemon. */
export interface ConsoleView {
  readonly config: Config;
  readonly shared: { readonly countersBuffer: SharedArrayBuffer };
  /** The VRRP pair's state; undefined without a `vrrp` block. */
  haStatus(): HaStatus | undefined;
}

export interface ParameterRow {
  name: string;
  /** As `set NAME VALUE` writes it; null when unset (no default, e.g. `metrics`). */
  value: string | null;
  /** Written in the file (false: bng's default). */
  explicit: boolean;
}

export function showParameters(config: Config): ParameterRow[] {
  return Object.entries(SETTINGS).map(([name, spec]) => {
    const value = config.settings[spec.key];
    return {
      name,
      value: value === undefined ? null : String(spec.format?.(value) ?? value),
      explicit: config.explicitSettings.includes(spec.key),
    };
  });
}

export function showRunning(view: ConsoleView, what: "parameters" | "config" | "vrrp"): ControlReply {
  if (what === "parameters") return { ok: true, result: showParameters(view.config) };
  if (what === "config") return { ok: true, result: printConfig(view.config) };
  return { ok: true, result: view.haStatus() ?? null };
}

const baselines = new WeakMap<SharedArrayBuffer, CountersSnapshot>();

export function clearCounters(view: ConsoleView): ControlReply {
  baselines.set(view.shared.countersBuffer, readCounters(view.shared.countersBuffer));
  return { ok: true, result: { message: "counters cleared: status, show and SNMP count from now (the Prometheus metrics keep counting)" } };
}

function minus<Name extends string>(now: Record<Name, number>, then: Record<Name, number>): Record<Name, number> {
  const result = { ...now };
  for (const name of Object.keys(now) as Name[]) result[name] = Math.max(0, now[name] - (then[name] ?? 0));
  return result;
}

function trafficMinus(now: Map<number, TrafficCount>, then: Map<number, TrafficCount>): Map<number, TrafficCount> {
  const result = new Map<number, TrafficCount>();
  for (const [id, count] of now) {
    const before = then.get(id);
    result.set(id, before ? { packets: Math.max(0, count.packets - before.packets), bytes: Math.max(0, count.bytes - before.bytes) } : count);
  }
  return result;
}

/** The counters of `buffer` since the last `clear counters` (all of them before any). */
export function countersSinceCleared(buffer: SharedArrayBuffer): CountersSnapshot {
  const now = readCounters(buffer);
  const then = baselines.get(buffer);
  if (!then) return now;
  return {
    events: minus(now.events, then.events),
    drops: minus(now.drops, then.drops),
    passes: minus(now.passes, then.passes),
    servers: trafficMinus(now.servers, then.servers),
    targets: trafficMinus(now.targets, then.targets),
  };
}

// What a reload changes, decided without touching anything: the running configuration and the
// next one go in, a refusal or the list of changes comes out. The daemon applies the changes
// (daemon.ts); this file is pure, so every case is tested without a kernel.
import { counted } from "../config/index.ts";
import { ipToString, isActive, vipNetwork, type Config, type Settings, type TargetDef } from "../config/model.ts";
import type { RunPlan } from "./plan.ts";

/**
 * Settings the daemon builds from once, at start (the workers, the session table, the I/O
 * engine), with their names in the configuration language; a reload cannot change them.
 */
const START_SETTINGS = { workers: "workers", sessionCapacity: "sessions", io: "io" } as const;
export type StartSettings = Pick<Settings, keyof typeof START_SETTINGS>;

export function startSettingsOf(config: Config): StartSettings {
  return { workers: config.settings.workers, sessionCapacity: config.settings.sessionCapacity, io: config.settings.io };
}

/** A start setting the next file changes: "workers 2" (or "workers 1 (default)") against the running "workers 4". */
export interface DeferredSetting {
  wanted: string;
  running: string;
}

/** The start settings in which the file `wanted` differs from `running`. */
export function startSettingsChanged(running: StartSettings, wanted: Config): DeferredSetting[] {
  return (Object.keys(START_SETTINGS) as (keyof StartSettings)[])
    .filter((key) => running[key] !== wanted.settings[key])
    .map((key) => ({
      wanted: `${START_SETTINGS[key]} ${wanted.settings[key]}${wanted.explicitSettings.includes(key) ? "" : " (default)"}`,
      running: `${START_SETTINGS[key]} ${running[key]}`,
    }));
}

/** What differs between two plans in what only a restart can change: the interface, bng's own addresses, the announce table. */
export function networkSetupChanges(running: RunPlan, next: RunPlan): string[] {
  const changes: string[] = [];
  if (running.ifname !== next.ifname) changes.push(`the interface changed from ${running.ifname} to ${next.ifname}`);
  if (running.announceTable !== next.announceTable) {
    const table = (plan: RunPlan) => (plan.announceTable === undefined ? "off" : `table ${plan.announceTable}`);
    changes.push(`set announce changed from ${table(running)} to ${table(next)}`);
  }
  const addresses = (plan: RunPlan) => new Set(plan.networks.map((n) => `${ipToString(n.real)}/${n.prefixLength}`));
  const before = addresses(running);
  const after = addresses(next);
  const gone = [...before].filter((address) => !after.has(address));
  const added = [...after].filter((address) => !before.has(address));
  if (gone.length > 0) changes.push(`bng's real address ${gone.join(", ")} would no longer be used`);
  if (added.length > 0) changes.push(`bng would need the new real address ${added.join(", ")}`);
  return changes;
}

/** The VIPs of the active servers in network `networkId`: those a VRRP pair on it stands for. */
export function vrrpVips(config: Config, networkId: number): number[] {
  return [...new Set(config.servers.filter((server) => isActive(server) && vipNetwork(config, server.ipaddr)?.id === networkId).map((server) => server.ipaddr))];
}

/** What only a restart can change of a VRRP pair: the block itself and the addresses it stands for. */
function vrrpChanges(running: Config, next: Config): string[] {
  const shape = (config: Config) => (config.vrrp ? JSON.stringify({ ...config.vrrp, pos: undefined, vips: vrrpVips(config, config.vrrp.networkId).sort() }) : "none");
  return shape(running) === shape(next) ? [] : ["the vrrp block or the VIPs it stands for changed"];
}

/** The VIPs bng owns: those of the registered servers, each once. */
export function servedVips(config: Config): number[] {
  return [...new Set(config.servers.filter((server) => server.registered).map((server) => server.ipaddr))];
}

/** The targets bng checks and forwards to: the registered ones. */
export function registeredTargets(config: Config): TargetDef[] {
  return config.targets.filter((target) => target.registered);
}

export interface ReloadChanges {
  /** Target ids that now name another address, or are gone: their sessions and MAC go. */
  renewedTargets: number[];
  /** Servers whose session timeout changed, with the new one. */
  retimedServers: { id: number; timeoutS: number }[];
  /** For each registered server of the next file, the targets and backups it lists: sessions outside stay no longer. */
  members: Map<number, Set<number>>;
  /** VIPs that become answered: each is announced with gratuitous ARPs. */
  newVips: number[];
  /** Start settings the file changes, which take effect only at the next start. */
  deferred: DeferredSetting[];
}

export type ReloadPlan = { ok: true; changes: ReloadChanges } | { ok: false; refusal: string };

/** Decides a reload from `running` (and the start settings in effect) to `next`. */
export function planReload(running: { config: Config; plan: RunPlan; startSettings: StartSettings }, next: { config: Config; plan: RunPlan }): ReloadPlan {
  const setupChanges = [...networkSetupChanges(running.plan, next.plan), ...vrrpChanges(running.config, next.config)];
  if (setupChanges.length > 0) return { ok: false, refusal: `reload refused: ${setupChanges.join("; ")}; that needs a restart of bng` };
  const renewedTargets: number[] = [];
  for (const old of running.config.targets) {
    const replacement = next.config.targets.find((target) => target.id === old.id);
    if (!replacement || replacement.ipaddr !== old.ipaddr || !replacement.registered) renewedTargets.push(old.id);
  }
  const retimedServers: ReloadChanges["retimedServers"] = [];
  for (const server of next.config.servers) {
    const before = running.config.servers.find((old) => old.id === server.id);
    if (before !== undefined && before.sessionTimeoutS !== server.sessionTimeoutS) retimedServers.push({ id: server.id, timeoutS: server.sessionTimeoutS });
  }
  const members = new Map(next.config.servers.filter((server) => server.registered).map((server) => [server.id, new Set([...server.targets, ...server.backup])]));
  const answeredBefore = new Set(running.config.servers.filter(isActive).map((server) => server.ipaddr));
  const newVips: number[] = [];
  for (const server of next.config.servers) {
    if (isActive(server) && !answeredBefore.has(server.ipaddr)) {
      answeredBefore.add(server.ipaddr);
      newVips.push(server.ipaddr);
    }
  }
  return { ok: true, changes: { renewedTargets, retimedServers, members, newVips, deferred: startSettingsChanged(running.startSettings, next.config) } };
}

/**
 * The reply to a reload that was applied, and the start settings it names when the file changed
 * some (they wait for the next start; the daemon logs them).
 */
export function reloadOutcome(path: string, config: Config, deferred: readonly DeferredSetting[]): { message: string; deferred?: { settings: string; running: string } } {
  const summary = `reloaded ${path}: ${counted(config.servers.length, "server")}, ${counted(config.targets.length, "target")}`;
  if (deferred.length === 0) return { message: summary };
  const settings = deferred.map((change) => change.wanted).join(", ");
  const running = deferred.map((change) => change.running).join(", ");
  return { message: `${summary}; ${settings}: only at the next start (running: ${running})`, deferred: { settings, running } };
}

// The running bng: configuration, host network, data-plane workers, health checks, ARP
// resolution of target MACs, the control socket and signals, tied together. The Daemon class
// takes its effects (host network, data plane, probes) as dependencies so the control plane
// is tested without a kernel; runDaemon wires the real ones.
import { existsSync, mkdirSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { counted, formatDiagnostic, loadConfigFile } from "../config/index.ts";
import { ipToString, isActive, type Config, type ServerDef, type Settings, type TargetDef } from "../config/model.ts";
import { writeArpRequest, writeGratuitousArp } from "../dataplane/arp.ts";
import { createBatchStats } from "../dataplane/batch-stats.ts";
import { createCounters, EVENT_KERNEL_DROPS, EVENT_SEND_REFUSED, eventTotal, lastSendErrno, workerRegions } from "../dataplane/counters.ts";
import { NeighbourTable } from "../dataplane/neighbours.ts";
import { SessionTable } from "../dataplane/sessions.ts";
import { buildForwardingTable, type ForwardingTable, type TargetRuntime } from "../dataplane/table.ts";
import { createHealthMonitor, createSystemProbes, type Clock, type HealthMonitor } from "../health/monitor.ts";
import type { Probes } from "../health/probe.ts";
import { formatMac } from "../../ffi/interface.ts";
import { adviseHugePages } from "../../ffi/memory.ts";
import { monotonicMs } from "../../ffi/clock.ts";
import { startWorkers, type Dataplane, type SharedStructures } from "./dataplane-host.ts";
import { openHostNetwork, type HostNetwork } from "./host-network.ts";
import { createLogger, type Logger } from "./log.ts";
import { planRun, type RunPlan } from "./plan.ts";
import type { ControlReply, ControlRequest } from "./protocol.ts";
import { startControlServer, type ControlServer } from "./socket-server.ts";
import { buildStatus, listNetworks, listSessions, sendError, type DaemonView } from "./status-report.ts";
import { ControlTimer, TICK_MS } from "./control-timer.ts";
import { LatencyHistograms } from "./latency.ts";
import { renderMetrics } from "./metrics.ts";
import { startMetricsServer, type MetricsServer } from "./metrics-server.ts";

/** Gratuitous ARPs per VIP when it appears, one second apart. */
const GRATUITOUS_ARP_COUNT = 3;
/** How often an unresolved target is asked for its MAC. */
const UNRESOLVED_ARP_INTERVAL_MS = 1000;
const NEIGHBOUR_POLL_MS = 200;
const SESSION_SWEEP_MS = 5000;
const DATAPLANE_BATCH_SIZE = 64;
/** How often bng checks that its interface still exists. */
const INTERFACE_WATCH_MS = 1000;
/** How often bng looks whether the kernel dropped or refused frames (the workers update their totals once a second). */
const IO_WATCH_MS = 1000;
/** While frames keep being lost, `frames-lost` is logged at most this often. */
const FRAMES_LOST_LOG_MS = 60_000;

/**
 * Settings the daemon builds from once, at start (the workers, the session table, the I/O
 * backend), with their names in the configuration language; a reload cannot change them.
 */
const START_SETTINGS = { workers: "workers", sessionCapacity: "sessions", io: "io" } as const;
type StartSettings = Pick<Settings, keyof typeof START_SETTINGS>;

/**
 * The start settings in which the file `wanted` differs from `running`, as "workers 2" (or
 * "workers 1 (default)" when the file does not set it) and the running "workers 4".
 */
function startSettingsChanged(running: StartSettings, wanted: Config): { wanted: string; running: string }[] {
  return (Object.keys(START_SETTINGS) as (keyof StartSettings)[])
    .filter((key) => running[key] !== wanted.settings[key])
    .map((key) => ({
      wanted: `${START_SETTINGS[key]} ${wanted.settings[key]}${wanted.explicitSettings.includes(key) ? "" : " (default)"}`,
      running: `${START_SETTINGS[key]} ${running[key]}`,
    }));
}

/** A diagnostic's first line (`file:line:column: error: message`), without the quoted source and caret: one log line each. */
function firstLine(detail: string): string {
  return detail.split("\n", 1)[0] ?? detail;
}

export class StartError extends Error {
  constructor(
    message: string,
    readonly details: string[] = [],
  ) {
    super(message);
  }
}

export interface DaemonDependencies {
  logger: Logger;
  openNetwork(plan: RunPlan): HostNetwork;
  startDataplane(options: { plan: RunPlan; config: Config; table: ForwardingTable; shared: SharedStructures; onFailure(message: string): void }): Promise<Dataplane>;
  probes?: Probes;
  healthClock?: Clock;
}

interface TargetRuntimeState {
  mac: Uint8Array | undefined;
  sightings: number;
  lastArpRequestMs: number;
}

function loadChecked(path: string): { ok: true; config: Config; plan: RunPlan } | { ok: false; message: string; details: string[] } {
  const result = loadConfigFile(path);
  if (!result.ok) {
    const count = result.errors.length;
    return { ok: false, message: `${path}: ${count} configuration error${count === 1 ? "" : "s"}`, details: result.errors.map((error) => formatDiagnostic(error, result.source)) };
  }
  const planned = planRun(result.config);
  if (!planned.ok) return { ok: false, message: `${path} cannot run`, details: planned.errors };
  return { ok: true, config: result.config, plan: planned.plan };
}

/** The VIPs bng owns: those of the registered servers, each once. */
function servedVips(config: Config): number[] {
  return [...new Set(config.servers.filter((server) => server.registered).map((server) => server.ipaddr))];
}

/** What differs between two plans in what only a restart can change: the interface and bng's own addresses. */
function networkSetupChanges(running: RunPlan, next: RunPlan): string[] {
  const changes: string[] = [];
  if (running.ifname !== next.ifname) changes.push(`the interface changed from ${running.ifname} to ${next.ifname}`);
  const addresses = (plan: RunPlan) => new Set(plan.networks.map((n) => `${ipToString(n.real)}/${n.prefixLength}`));
  const before = addresses(running);
  const after = addresses(next);
  const gone = [...before].filter((address) => !after.has(address));
  const added = [...after].filter((address) => !before.has(address));
  if (gone.length > 0) changes.push(`bng's real address ${gone.join(", ")} would no longer be used`);
  if (added.length > 0) changes.push(`bng would need the new real address ${added.join(", ")}`);
  return changes;
}

export class Daemon implements DaemonView {
  readonly startedAtMs: number;
  readonly sessions: SessionTable;
  readonly countersBuffer: SharedArrayBuffer;
  readonly batchStatsBuffer: SharedArrayBuffer;
  readonly latency = new LatencyHistograms();
  readonly timer: ControlTimer;
  readonly stopped: Promise<void>;
  config: Config;
  /** The start settings in effect: those of the file bng started with, whatever a reload said since. */
  readonly startSettings: StartSettings;
  plan: RunPlan;
  /** The file the running configuration came from (the last good reload's, or the start file). */
  configPath: string;
  /** The file bng was started with: what SIGHUP and `bng reload` without a file load. */
  readonly startConfigPath: string;
  expiredSessions = 0;
  /** Set when bng stops because something broke (not by request): the process exits 1. */
  failed = false;
  private readonly neighbours: NeighbourTable;
  private readonly runtime = new Map<number, TargetRuntimeState>();
  private readonly announcements = new Set<ReturnType<typeof setTimeout>>();
  private readonly arpFrame = new Uint8Array(64);
  private readonly counterRegions: Float64Array[];
  /**
   * The I/O loss totals the last `frames-lost` line reported and when it was logged; `sinceMs`:
   * since when the losses not yet reported can have happened (the last look that found none).
   */
  private readonly reportedLoss = { kernelDrops: 0, sendRefused: 0, atMs: -Infinity, sinceMs: 0 };
  /**
   * Milliseconds of the clock of session times, the ARP schedule and the uptime: CLOCK_MONOTONIC
   * (ffi/clock.ts), the clock the data-plane workers stamp sessions with.
   */
  readonly now: () => number = monotonicMs;
  private monitor!: HealthMonitor;
  private dataplane: Dataplane | undefined;
  private metricsServer: MetricsServer | undefined;
  private stopping: Promise<void> | undefined;
  private resolveStopped!: () => void;

  private constructor(
    readonly deps: DaemonDependencies,
    readonly network: HostNetwork,
    configPath: string,
    config: Config,
    plan: RunPlan,
  ) {
    this.startedAtMs = this.now();
    this.timer = new ControlTimer({
      onJobError: (job, error, failuresInARow) =>
        this.logger.error("timer-job-failed", { job, error: error instanceof Error ? error.message : String(error), failures_in_a_row: failuresInARow }),
      onJobRecovered: (job, failures) => this.logger.info("timer-job-recovered", { job, failures }),
    });
    this.configPath = configPath;
    this.startConfigPath = configPath;
    this.config = config;
    this.startSettings = { workers: config.settings.workers, sessionCapacity: config.settings.sessionCapacity, io: config.settings.io };
    this.plan = plan;
    this.sessions = SessionTable.create(config.settings.sessionCapacity, this.startedAtMs);
    this.neighbours = NeighbourTable.create();
    this.countersBuffer = createCounters(config.settings.workers);
    this.counterRegions = workerRegions(this.countersBuffer);
    this.reportedLoss.sinceMs = this.startedAtMs;
    this.batchStatsBuffer = createBatchStats(config.settings.workers);
    this.stopped = new Promise((resolve) => (this.resolveStopped = resolve));
  }

  get logger(): Logger {
    return this.deps.logger;
  }

  get healthMonitor(): HealthMonitor {
    return this.monitor;
  }

  /** Loads, checks and starts everything; throws StartError with every reason it cannot. */
  static async start(configPath: string, deps: DaemonDependencies): Promise<Daemon> {
    const path = resolve(configPath);
    const loaded = loadChecked(path);
    if (!loaded.ok) throw new StartError(loaded.message, loaded.details);
    const network = deps.openNetwork(loaded.plan);
    const daemon = new Daemon(deps, network, path, loaded.config, loaded.plan);
    try {
      await daemon.begin();
    } catch (error) {
      await daemon.stop("start failed");
      throw error;
    }
    return daemon;
  }

  private async begin(): Promise<void> {
    const { logger } = this;
    this.monitor = createHealthMonitor({
      targets: this.monitoredTargets(this.config),
      realAddressFor: (target) => this.realAddressFor(target),
      onChange: (event) => {
        // One line per change, also for the operator's enable/disable (its cause says so); only
        // a target going down is a warning.
        logger.log(event.to === "down" ? "warn" : "info", `target-${event.to}`, { target: event.targetId, address: `${event.ipaddr}:${event.port}`, cause: event.cause });
        this.publish();
        if (event.to === "down") this.dropSessionsOf(event.targetId, "down");
      },
      probes: this.latency.wrap(this.deps.probes ?? createSystemProbes(), ipToString),
      ...(this.deps.healthClock ? { clock: this.deps.healthClock } : {}),
    });
    this.network.dropKernelCopies(servedVips(this.config));
    const table = this.buildTable();
    this.dataplane = await this.deps.startDataplane({
      plan: this.plan,
      config: this.config,
      table,
      shared: { sessions: this.sessions.buffer, neighbours: this.neighbours.buffer, counters: this.countersBuffer, batchStats: this.batchStatsBuffer },
      onFailure: (message) => {
        logger.error("dataplane-failed", { error: message });
        this.failed = true;
        void this.stop("data plane failed");
      },
    });
    await this.serveMetrics(this.config.settings.metrics);
    this.timer.every("resolve-targets", UNRESOLVED_ARP_INTERVAL_MS, () => this.resolveTargets());
    this.timer.every("poll-neighbours", NEIGHBOUR_POLL_MS, () => this.pollNeighbours());
    this.timer.every("sweep-sessions", TICK_MS, () => this.sweepSessions());
    this.timer.every("watch-interface", INTERFACE_WATCH_MS, () => this.watchInterface());
    this.timer.every("watch-io", IO_WATCH_MS, () => this.watchIo());
    this.resolveTargets();
    for (const server of this.config.servers) if (isActive(server)) this.announce(server.ipaddr);
    logger.info("started", {
      config: this.configPath,
      interface: this.plan.ifname,
      servers: this.config.servers.filter(isActive).length,
      targets: this.config.targets.filter((t) => t.registered).length,
      workers: this.startSettings.workers,
      io: this.startSettings.io,
      pid: process.pid,
    });
  }

  /** (Re)starts the /metrics listener when `set metrics` names one; stops it when it no longer does. */
  private async serveMetrics(address: string | undefined): Promise<void> {
    if (this.metricsServer?.address === address) return;
    if (this.metricsServer) {
      await this.metricsServer.close();
      this.logger.info("metrics-stopped", { address: this.metricsServer.address });
      this.metricsServer = undefined;
    }
    if (address === undefined) return;
    this.metricsServer = await startMetricsServer(address, () => renderMetrics(this));
    this.logger.info("metrics-listening", { url: `http://${address}/metrics` });
  }

  private monitoredTargets(config: Config): TargetDef[] {
    return config.targets.filter((target) => target.registered);
  }

  private realAddressFor(target: TargetDef): number | undefined {
    const inNetwork = this.plan.networks.find(({ network }) => ((target.ipaddr & network.mask) >>> 0) === network.addr);
    return (inNetwork ?? this.plan.networks[0])?.real;
  }

  private runtimeOf(id: number): TargetRuntimeState {
    let state = this.runtime.get(id);
    if (!state) {
      state = { mac: undefined, sightings: 0, lastArpRequestMs: -Infinity };
      this.runtime.set(id, state);
    }
    return state;
  }

  targetMac(id: number): Uint8Array | undefined {
    return this.runtime.get(id)?.mac;
  }

  private buildTable(): ForwardingTable {
    const targets = new Map<number, TargetRuntime>();
    for (const target of this.config.targets) {
      targets.set(target.id, { mac: this.runtime.get(target.id)?.mac, state: this.monitor.state(target.id) ?? "pending" });
    }
    return buildForwardingTable({ config: this.config, ownMac: this.network.ownMac, targets });
  }

  /** Builds a table from the current state and hands it to the workers. */
  publish(): void {
    if (!this.dataplane || this.stopping) return;
    this.dataplane.publish(this.buildTable());
  }

  private dropSessionsOf(targetId: number, why: string): void {
    const removed = this.sessions.removeTarget(targetId);
    if (removed > 0) this.logger.info("sessions-removed", { target: targetId, sessions: removed, why });
  }

  /** Sends the ARP frame; `what` and `address` name it in the log line of a failure (built only then). */
  private sendFrame(length: number, what: string, address: number): void {
    try {
      this.network.sendFrame(this.arpFrame, length);
    } catch (error) {
      this.logger.warn("send-failed", { what: `${what} ${ipToString(address)}`, error: (error as Error).message });
    }
  }

  /** Asks every target for its MAC: unresolved ones each second, resolved ones every `arprefresh`. */
  private resolveTargets(): void {
    const nowMs = this.now();
    const refreshMs = this.config.settings.arpRefreshS * 1000;
    const targets = this.config.targets;
    // An index loop, and nothing built unless a request goes out: this runs every second
    // (control-timer.ts).
    for (let i = 0; i < targets.length; i++) {
      const target = targets[i]!;
      if (!target.registered) continue;
      const state = this.runtimeOf(target.id);
      const due = state.mac === undefined ? UNRESOLVED_ARP_INTERVAL_MS : refreshMs;
      if (nowMs - state.lastArpRequestMs < due - 50) continue;
      const source = this.realAddressFor(target);
      if (source === undefined) continue;
      state.lastArpRequestMs = nowMs;
      this.sendFrame(writeArpRequest(this.arpFrame, 0, this.network.ownMac, source, target.ipaddr), "arp request for", target.ipaddr);
    }
  }

  /** Picks up MACs the workers learned from ARP replies; a new or changed MAC republishes. */
  private pollNeighbours(): void {
    let changed = false;
    const targets = this.config.targets;
    // An index loop and a look at the sightings count first: this runs five times a second and
    // must not allocate while nothing changes (control-timer.ts).
    for (let i = 0; i < targets.length; i++) {
      const target = targets[i]!;
      const state = this.runtimeOf(target.id);
      if (this.neighbours.sightings(target.id) === state.sightings) continue;
      const learned = this.neighbours.read(target.id);
      if (!learned || learned.sightings === state.sightings) continue;
      state.sightings = learned.sightings;
      const before = state.mac;
      if (before && formatMac(before) === formatMac(learned.mac)) continue;
      state.mac = learned.mac;
      changed = true;
      const fields = { target: target.id, address: ipToString(target.ipaddr), mac: formatMac(learned.mac) };
      if (before) this.logger.warn("target-mac-changed", { ...fields, previous: formatMac(before) });
      else this.logger.info("target-mac-learned", fields);
    }
    if (changed) this.publish();
  }

  /** An interface that disappears cannot come back to this socket: stop, as a failure, so a supervisor restarts bng. */
  private watchInterface(): void {
    if (this.network.stillPresent()) return;
    this.logger.error("interface-gone", { interface: this.plan.ifname, message: `interface ${this.plan.ifname} disappeared (deleted or replaced); bng stops` });
    this.failed = true;
    void this.stop(`interface ${this.plan.ifname} gone`);
  }

  /**
   * Warns when the kernel dropped frames the workers did not read in time (bng is not keeping up)
   * or refused frames they sent: at the first loss, then at most once a minute while losses go on
   * (and once more at stop, `final`), each line with the losses not reported before and the
   * seconds they happened in. Reads the totals without allocating.
   */
  private watchIo(final = false): void {
    const kernelDrops = eventTotal(this.counterRegions, EVENT_KERNEL_DROPS);
    const sendRefused = eventTotal(this.counterRegions, EVENT_SEND_REFUSED);
    const reported = this.reportedLoss;
    const nowMs = this.now();
    if (kernelDrops === reported.kernelDrops && sendRefused === reported.sendRefused) {
      reported.sinceMs = nowMs;
      return;
    }
    if (!final && nowMs - reported.atMs < FRAMES_LOST_LOG_MS) return;
    this.logger.warn("frames-lost", {
      kernel_drops: kernelDrops - reported.kernelDrops,
      send_refused: sendRefused - reported.sendRefused,
      over_s: Math.round((nowMs - reported.sinceMs) / 1000),
      kernel_drops_total: kernelDrops,
      send_refused_total: sendRefused,
      last_send_error: sendError(lastSendErrno(this.counterRegions)) ?? "none",
    });
    reported.kernelDrops = kernelDrops;
    reported.sendRefused = sendRefused;
    reported.atMs = nowMs;
    reported.sinceMs = nowMs;
  }

  /** One tick's share of the session sweep: the whole table within SESSION_SWEEP_MS. */
  private sweepSessions(): void {
    this.expiredSessions += this.sessions.sweepTurn(this.sessions.secondsAt(this.now()), SESSION_SWEEP_MS / TICK_MS);
  }

  /** Three gratuitous ARPs for a VIP, one second apart, so neighbours update their caches. */
  private announce(vip: number): void {
    for (let i = 0; i < GRATUITOUS_ARP_COUNT; i++) {
      const timer = setTimeout(() => {
        this.announcements.delete(timer);
        if (this.stopping) return;
        this.sendFrame(writeGratuitousArp(this.arpFrame, 0, this.network.ownMac, vip), "gratuitous arp for", vip);
      }, i * 1000);
      this.announcements.add(timer);
    }
    this.logger.info("vip-announced", { vip: ipToString(vip), gratuitous_arps: GRATUITOUS_ARP_COUNT });
  }

  private findServer(id: number): ServerDef | undefined {
    return this.config.servers.find((server) => server.id === id && server.registered);
  }

  private setServerEnabled(id: number, enabled: boolean): ControlReply {
    const server = this.findServer(id);
    if (!server) return { ok: false, error: `no server ${id} (servers: ${this.config.servers.map((s) => s.id).join(", ") || "none"})` };
    if (server.enabled === enabled) return { ok: true, result: { message: `server ${id} is already ${enabled ? "enabled" : "disabled"}` } };
    if (enabled) {
      // What run and reload would refuse in a file, enable must not bring about at run time.
      const refusal = this.refusalOfEnabling(server);
      if (refusal) return refusal;
    }
    const vipAnsweredBefore = this.vipAnswered(server.ipaddr);
    server.enabled = enabled;
    this.publish();
    this.logger.info(enabled ? "server-enabled" : "server-disabled", { server: id, vip: ipToString(server.ipaddr), by: "operator" });
    if (enabled && !vipAnsweredBefore) this.announce(server.ipaddr);
    const still = !enabled && this.vipAnswered(server.ipaddr);
    return {
      ok: true,
      result: {
        message: enabled
          ? `server ${id} enabled: ${ipToString(server.ipaddr)}:${server.port} is answered`
          : `server ${id} disabled: ${ipToString(server.ipaddr)}${still ? " is still answered for another enabled server" : " is no longer answered"}`,
      },
    };
  }

  /** Why the running configuration with `server` enabled could not run as it does now, if it could not. */
  private refusalOfEnabling(server: ServerDef): ControlReply | undefined {
    const planned = planRun({ ...this.config, servers: this.config.servers.map((def) => (def === server ? { ...def, enabled: true } : def)) });
    const error = `server ${server.id} stays disabled`;
    if (!planned.ok) return { ok: false, error: `${error}: bng run would refuse the configuration with it enabled`, errors: planned.errors };
    const changes = networkSetupChanges(this.plan, planned.plan);
    if (changes.length > 0) return { ok: false, error: `${error}: ${changes.join("; ")}; that needs a restart of bng` };
    return undefined;
  }

  private vipAnswered(vip: number): boolean {
    return this.config.servers.some((server) => isActive(server) && server.ipaddr === vip);
  }

  private setTargetEnabled(id: number, enabled: boolean): ControlReply {
    const target = this.config.targets.find((candidate) => candidate.id === id && candidate.registered);
    if (!target) return { ok: false, error: `no target ${id} (targets: ${this.config.targets.map((t) => t.id).join(", ") || "none"})` };
    if (target.enabled === enabled) return { ok: true, result: { message: `target ${id} is already ${enabled ? "enabled" : "disabled"}` } };
    target.enabled = enabled;
    const before = this.monitor.state(id);
    this.monitor.setEnabled(id, enabled);
    this.publish();
    // A down target stays down either way (down wins over disabled): no state event is logged,
    // so the operator's action is, and the reply says what it means.
    if (before === "down" && this.monitor.state(id) === "down") {
      const verb = enabled ? "enabled" : "disabled";
      this.logger.info(enabled ? "target-enabled" : "target-disabled", { target: id, address: `${ipToString(target.ipaddr)}:${target.port}`, cause: `${verb} by operator while down` });
      return {
        ok: true,
        result: { message: `target ${id} ${verb}: it is down, ${enabled ? "and takes new sessions once it is up" : "has no sessions, and stays disabled when it comes back"}` },
      };
    }
    const sessions = this.sessions.sessionsOfTarget(id);
    return {
      ok: true,
      result: {
        message: enabled
          ? `target ${id} enabled: it takes new sessions once it is up`
          : `target ${id} disabled: no new sessions; its ${counted(sessions, "session")} drain until they expire`,
      },
    };
  }

  /**
   * Loads `file` (or the file bng was started with) completely first; only a good one replaces
   * the running config.
   */
  async reload(file?: string): Promise<ControlReply> {
    const path = file === undefined ? this.startConfigPath : resolve(file);
    const loaded = loadChecked(path);
    if (!loaded.ok) {
      this.logger.warn("reload-refused", { config: path, errors: loaded.details.length, reason: loaded.message });
      return { ok: false, error: `reload refused, the running configuration stays: ${loaded.message}`, errors: loaded.details };
    }
    const setupChanges = networkSetupChanges(this.plan, loaded.plan);
    if (setupChanges.length > 0) {
      const message = `reload refused: ${setupChanges.join("; ")}; that needs a restart of bng`;
      this.logger.warn("reload-refused", { config: path, reason: message });
      return { ok: false, error: message };
    }
    const previous = this.config;
    const answeredBefore = new Set(previous.servers.filter(isActive).map((s) => s.ipaddr));
    // A target id now naming another address is a new target: its old sessions and MAC go.
    const renewed: number[] = [];
    for (const old of previous.targets) {
      const next = loaded.config.targets.find((target) => target.id === old.id);
      if (!next || next.ipaddr !== old.ipaddr || !next.registered) {
        // The workers' neighbour entry for this id still holds the old host's MAC: only an ARP
        // seen from now on (a higher sighting count) may give the id its new MAC.
        this.runtime.set(old.id, { mac: undefined, sightings: this.neighbours.sightings(old.id), lastArpRequestMs: -Infinity });
        renewed.push(old.id);
      }
    }
    // The workers judge a session's idleness by its server's timeout in the new table at once;
    // the stored timeouts (sweep, show sessions) follow.
    for (const server of loaded.config.servers) {
      const before = previous.servers.find((old) => old.id === server.id);
      if (before !== undefined && before.sessionTimeoutS !== server.sessionTimeoutS) this.sessions.retimeServer(server.id, server.sessionTimeoutS);
    }
    this.config = loaded.config;
    this.plan = loaded.plan;
    this.configPath = path;
    this.monitor.replaceTargets(this.monitoredTargets(loaded.config));
    this.publish();
    // The new table already refuses these sessions (keepsSession); removing them after it is
    // published (a worker still on the old table could bind them again) keeps the session counts
    // and `show sessions` true.
    for (const id of renewed) this.dropSessionsOf(id, "reload");
    const members = new Map(loaded.config.servers.filter((server) => server.registered).map((server) => [server.id, new Set([...server.targets, ...server.backup])]));
    const orphaned = this.sessions.removeWhere((serverId) => !members.has(serverId));
    if (orphaned > 0) this.logger.info("sessions-removed", { sessions: orphaned, why: "server removed by reload" });
    const unlisted = this.sessions.removeWhere((serverId, targetId) => members.get(serverId)?.has(targetId) === false);
    if (unlisted > 0) this.logger.info("sessions-removed", { sessions: unlisted, why: "target no longer listed by its server" });
    this.network.dropKernelCopies(servedVips(loaded.config));
    try {
      await this.serveMetrics(loaded.config.settings.metrics);
    } catch (error) {
      this.logger.error("metrics-failed", { error: (error as Error).message });
    }
    this.resolveTargets();
    for (const server of loaded.config.servers) {
      if (isActive(server) && !answeredBefore.has(server.ipaddr)) {
        answeredBefore.add(server.ipaddr);
        this.announce(server.ipaddr);
      }
    }
    const summary = `${counted(loaded.config.servers.length, "server")}, ${counted(loaded.config.targets.length, "target")}`;
    this.logger.info("reloaded", { config: path, servers: loaded.config.servers.length, targets: loaded.config.targets.length });
    const deferred = startSettingsChanged(this.startSettings, loaded.config);
    if (deferred.length === 0) return { ok: true, result: { message: `reloaded ${path}: ${summary}` } };
    const wanted = deferred.map((change) => change.wanted).join(", ");
    const running = deferred.map((change) => change.running).join(", ");
    this.logger.warn("reload-deferred", { config: path, settings: wanted, running, effect: "at the next start of bng" });
    return { ok: true, result: { message: `reloaded ${path}: ${summary}; ${wanted}: only at the next start (running: ${running})` } };
  }

  async handle(request: ControlRequest): Promise<ControlReply> {
    switch (request.cmd) {
      case "status":
        return { ok: true, result: buildStatus(this) };
      case "show": {
        if (request.what === "servers") return { ok: true, result: buildStatus(this).servers };
        if (request.what === "targets") return { ok: true, result: buildStatus(this).targets };
        if (request.what === "networks") return { ok: true, result: listNetworks(this) };
        return { ok: true, result: listSessions(this, request) };
      }
      case "enable":
      case "disable": {
        const enabled = request.cmd === "enable";
        return request.kind === "target" ? this.setTargetEnabled(request.id, enabled) : this.setServerEnabled(request.id, enabled);
      }
      case "reload":
        return this.reload(request.file);
      case "metrics":
        return { ok: true, result: renderMetrics(this) };
      case "stop":
        setTimeout(() => void this.stop("stop requested over the control socket"), 10);
        return { ok: true, result: { message: `bng (pid ${process.pid}) is stopping` } };
    }
  }

  /** Stops answering (workers first), then health checks, then undoes host changes. */
  stop(reason: string): Promise<void> {
    if (this.stopping) return this.stopping;
    this.stopping = (async () => {
      this.logger.info("stopping", { reason });
      this.timer.stop();
      for (const timer of this.announcements) clearTimeout(timer);
      await this.dataplane?.stop();
      this.watchIo(true);
      this.monitor?.stop();
      await this.metricsServer?.close();
      this.network.close();
      this.logger.info("stopped", { uptime_s: Math.round((this.now() - this.startedAtMs) / 1000) });
      this.resolveStopped();
    })();
    return this.stopping;
  }
}

export interface RunOptions {
  configPath: string;
  socketPath: string;
  pidFile: string | undefined;
}

/** `bng run`: the daemon in the foreground until SIGTERM/SIGINT or `bng stop`; SIGHUP reloads. */
export async function runDaemon(options: RunOptions): Promise<number> {
  const logger = createLogger();
  let controlServer: ControlServer | undefined;
  let daemon: Daemon | undefined;
  // Signals are handled from the first moment: one that arrives while bng is starting is kept
  // and acted on as soon as there is something to stop (never the default: dying uncleanly).
  let stopSignal: NodeJS.Signals | undefined;
  const onStopSignal = (signal: NodeJS.Signals) => {
    stopSignal = signal;
    if (daemon) void daemon.stop(`${signal} received`);
  };
  process.on("SIGTERM", onStopSignal);
  process.on("SIGINT", onStopSignal);
  process.on("SIGHUP", () => {
    if (!daemon) return logger.warn("reload-ignored", { reason: "SIGHUP while starting" });
    void daemon.reload().then((reply) => {
      if (!reply.ok) for (const detail of reply.errors ?? []) logger.warn("config-error", { error: firstLine(detail) });
    });
  });
  const handler = (request: ControlRequest): Promise<ControlReply> =>
    daemon ? daemon.handle(request) : Promise.resolve({ ok: false, error: "bng is still starting" });
  try {
    controlServer = await startControlServer(options.socketPath, handler);
  } catch (error) {
    logger.error("control-socket-failed", { socket: options.socketPath, error: (error as Error).message });
    return 1;
  }
  try {
    daemon = await Daemon.start(options.configPath, {
      logger,
      openNetwork: (plan) => openHostNetwork(plan, logger, options.socketPath),
      startDataplane: ({ plan, config, table, shared, onFailure }) => {
        const advice = adviseHugePages(shared.sessions);
        if (advice.failure !== undefined) logger.warn("huge-pages-unavailable", { table: "sessions", error: advice.failure, effect: "4 KiB pages: slower session lookups" });
        else logger.info("huge-pages", { table: "sessions", bytes: advice.advisedBytes, of: shared.sessions.byteLength });
        return startWorkers({ ifname: plan.ifname, workers: config.settings.workers, batchSize: DATAPLANE_BATCH_SIZE, io: config.settings.io, table, shared, onFailure });
      },
    });
  } catch (error) {
    await controlServer.close();
    if (error instanceof StartError) {
      logger.error("start-failed", { reason: error.message });
      for (const detail of error.details) logger.error("config-error", { error: firstLine(detail) });
    } else {
      logger.error("start-failed", { reason: (error as Error).message });
    }
    return 1;
  }
  const running = daemon;
  if (options.pidFile) {
    mkdirSync(dirname(options.pidFile), { recursive: true });
    writeFileSync(options.pidFile, `${process.pid}\n`);
  }
  if (stopSignal) void running.stop(`${stopSignal} received while starting`);
  else logger.info("ready", { socket: options.socketPath });
  await running.stopped;
  await controlServer.close();
  if (options.pidFile && existsSync(options.pidFile)) unlinkSync(options.pidFile);
  // A failure exits non-zero so that a supervisor (systemd's Restart=on-failure) restarts bng.
  return running.failed ? 1 : 0;
}

// The running bng: its lifecycle (start, reload, stop) and the dispatch of control requests.
// Its effects (host network, data plane, probes, clock) are dependencies (dependencies.ts), so
// the control plane is tested without a kernel; src/main/run-daemon.ts wires the real ones.
// The parts live beside it: the reload plan (reload-plan.ts), target MACs and announcements
// (target-resolution.ts), the I/O-loss watch (io-watch.ts), the control requests (requests.ts),
// enable/disable (operator.ts), the VRRP pair (ha.ts), set announce (announce-gate.ts).
import { resolve } from "node:path";
import { ipToString, isActive, type Config, type PacketEngine } from "../config/model.ts";
import { virtualMac as virtualMacOf } from "../ha/vrrp-advert.ts";
import { buildForwardingTable, type ForwardingTable, type TargetRuntime } from "../dataplane/table.ts";
import { createAlertRunner } from "../health/alerts.ts";
import { dsrVipsOf } from "../health/dsr-path.ts";
import { createHealthMonitor, type HealthMonitor } from "../health/monitor.ts";
import type { HostNetwork } from "../host/host-network.ts";
import type { Logger } from "../log/logger.ts";
import { startupDeadlineMs, targetsSettled, VipAnnouncement } from "./announce-gate.ts";
import { processLogOutput } from "../log/output.ts";
import { ControlTimer, TICK_MS } from "./control-timer.ts";
import type { Dataplane, DaemonDependencies } from "./dependencies.ts";
import { FloodLog } from "./flood-log.ts";
import { IoLossWatch } from "./io-watch.ts";
import { HighAvailability, type HaStatus } from "./ha.ts";
import { LatencyHistograms } from "./latency.ts";
import { renderMetrics } from "./metrics.ts";
import { MetricsEndpoint } from "./metrics-server.ts";
import type { OperatorContext } from "./operator.ts";
import { loadForRun, StartError } from "./load.ts";
import { realAddressFor, type RunPlan } from "./plan.ts";
import type { ControlReply, ControlRequest } from "./protocol.ts";
import { planReload, registeredTargets, reloadOutcome, servedVips, startSettingsOf, vrrpVips, type StartSettings } from "./reload-plan.ts";
import { SharedState } from "./shared-state.ts";
import { handleRequest, type RequestTarget } from "./requests.ts";
import type { DaemonView } from "./status-report.ts";
import { TargetResolver, UNRESOLVED_ARP_INTERVAL_MS } from "./target-resolution.ts";

const NEIGHBOUR_POLL_MS = 200;
const SESSION_SWEEP_MS = 5000;
/** How often bng checks that its interface still exists. */
const INTERFACE_WATCH_MS = 1000;
/** How often bng looks whether the kernel dropped or refused frames (the workers update their totals once a second). */
const IO_WATCH_MS = 1000;
// The I/O, flood and bandwidth watches share the once-a-second job.

export class Daemon implements DaemonView, RequestTarget {
  readonly startedAtMs: number;
  /** What the workers share with this thread. */
  readonly shared: SharedState;
  readonly latency = new LatencyHistograms();
  readonly timer: ControlTimer;
  readonly stopped: Promise<void>;
  readonly now: () => number;
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
  private readonly resolver: TargetResolver;
  /** `set announce`: the VIPs this node can serve, held back while its view of the targets settles. */
  private readonly announcement: VipAnnouncement;
  private readonly ioWatch: IoLossWatch;
  private readonly floodLog: FloodLog;
  private readonly metrics: MetricsEndpoint;
  private monitor!: HealthMonitor;
  private dataplane: Dataplane | undefined;
  /** The table the workers forward by: the last one published. */
  private table: ForwardingTable | undefined;

  ioEngine(): PacketEngine {
    // Requests are answered only once start() returned, with the data plane running.
    if (!this.dataplane) throw new Error("the data plane has not started yet");
    return this.dataplane.engine;
  }
  /** The VRRP pair, when the configuration has a `vrrp` block. */
  private ha: HighAvailability | undefined;
  private stopping: Promise<void> | undefined;
  private resolveStopped!: () => void;

  private constructor(
    readonly deps: DaemonDependencies,
    readonly network: HostNetwork,
    configPath: string,
    config: Config,
    plan: RunPlan,
  ) {
    this.now = deps.now;
    this.startedAtMs = this.now();
    this.timer = new ControlTimer({
      onJobError: (job, error, failuresInARow) =>
        this.logger.error("timer-job-failed", { job, error: error instanceof Error ? error.message : String(error), failures_in_a_row: failuresInARow }),
      onJobRecovered: (job, failures) => this.logger.info("timer-job-recovered", { job, failures }),
    });
    this.configPath = configPath;
    this.startConfigPath = configPath;
    this.config = config;
    this.startSettings = startSettingsOf(config);
    this.plan = plan;
    this.shared = new SharedState(config.settings, this.startedAtMs);
    this.resolver = new TargetResolver({
      logger: this.logger,
      network,
      neighbours: this.shared.neighbours,
      now: this.now,
      realAddressFor: (target) => realAddressFor(this.plan, target.ipaddr),
      onMacChange: () => this.publish(),
    });
    this.announcement = new VipAnnouncement({
      announce: (vips) => network.announce(vips),
      now: this.now,
      settled: () => targetsSettled(registeredTargets(this.config), (id) => this.monitor.state(id), (id) => this.resolver.targetMac(id) !== undefined),
      deadlineMs: startupDeadlineMs(this.startedAtMs, registeredTargets(config)),
      opened: () => this.publish(),
    });
    this.ioWatch = new IoLossWatch(this.shared.counterRegions, this.logger, this.now);
    this.floodLog = new FloodLog(this.shared.counterRegions, this.logger, this.now, () => this.config.settings.newSessionsPerS);
    this.metrics = new MetricsEndpoint(() => renderMetrics(this), this.logger);
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
    const loaded = loadForRun(path);
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
    processLogOutput.followSetting(this.config.settings.syslog);
    this.monitor = createHealthMonitor({
      targets: registeredTargets(this.config),
      realAddressFor: (target) => realAddressFor(this.plan, target.ipaddr),
      onChange: (event) => {
        // One line per change, also for the operator's enable/disable (its cause says so); only
        // a target going down is a warning.
        logger.log(event.to === "down" ? "warn" : "info", `target-${event.to}`, { target: event.targetId, address: `${event.ipaddr}:${event.port}`, cause: event.cause });
        this.publish();
        if (event.to === "down") this.shared.removeSessionsOfDownTarget(event.targetId, this.config, logger);
      },
      probes: this.latency.wrap(this.deps.probes, ipToString),
      dsrPathFor: (target) => ({ vips: dsrVipsOf(this.config, target.id), mac: this.resolver.targetMac(target.id) }),
      alerts: createAlertRunner({ logger }),
      onAgentLoad: (id, load) => this.shared.methodInputs.agentLoad(id, load),
      ...(this.deps.healthClock ? { clock: this.deps.healthClock } : {}),
    });
    this.network.dropKernelCopies(servedVips(this.config));
    this.table = this.buildTable();
    this.dataplane = await this.deps.startDataplane({
      plan: this.plan,
      config: this.config,
      table: this.table,
      shared: this.shared.structures(),
      onFailure: (message) => {
        logger.error("dataplane-failed", { error: message });
        this.failed = true;
        void this.stop("data plane failed");
      },
    });
    await this.metrics.serve(this.config.settings.metrics);
    this.timer.every("resolve-targets", UNRESOLVED_ARP_INTERVAL_MS, () => this.resolver.resolve(this.config));
    this.timer.every("poll-neighbours", NEIGHBOUR_POLL_MS, () => this.resolver.pollNeighbours(this.config));
    this.timer.every("sweep-sessions", TICK_MS, () => this.sweepSessions());
    this.timer.every("watch-interface", INTERFACE_WATCH_MS, () => this.watchInterface());
    this.timer.every("watch-io", IO_WATCH_MS, () => (this.ioWatch.check(), this.floodLog.check(), this.shared.methodInputs.measureBandwidth(this.now())));
    if (this.plan.announceTable !== undefined) this.timer.every("announce-gate", UNRESOLVED_ARP_INTERVAL_MS, () => this.announcement.tick());
    this.resolver.resolve(this.config);
    // A VRRP node announces its VIPs when it becomes master, not before.
    if (this.config.vrrp) this.startHighAvailability();
    else for (const server of this.config.servers) if (isActive(server)) this.resolver.announce(server.ipaddr);
    const { workers } = this.startSettings;
    const servers = this.config.servers.filter(isActive).length;
    const io = this.dataplane.engine;
    logger.info("started", { config: this.configPath, interface: this.plan.ifname, servers, targets: registeredTargets(this.config).length, workers, io, pid: process.pid });
  }

  /** Runs the `vrrp` block: adverts, tracking and session sync, on the control timer. */
  private startHighAvailability(): void {
    const vrrp = this.config.vrrp!;
    const ha = new HighAvailability({
      vrrp,
      config: () => this.config,
      plan: this.plan,
      link: this.deps.openVrrpLink(this.plan.ifname, virtualMacOf(vrrp.vrid)),
      openSyncTransport: this.deps.openSyncTransport,
      sessions: this.shared.sessions,
      journals: this.shared.journals,
      now: this.now,
      logger: this.logger,
      onRoleChange: (master) => {
        this.publish();
        if (master) for (const vip of vrrpVips(this.config, vrrp.networkId)) this.resolver.announce(vip, ha.virtualMac);
      },
      linkUp: () => this.network.linkUp(),
      ping: (source, destination, done) => this.deps.probes.ping(source, destination, done),
      usable: (id) => this.monitor.state(id) === "up" && this.resolver.targetMac(id) !== undefined && this.config.targets.some((target) => target.id === id && isActive(target)),
    });
    this.ha = ha;
    ha.start(this.timer, TICK_MS);
  }

  /** Gratuitous ARPs for a VIP that became answered: from the interface, or a VRRP master's virtual MAC (a backup is silent). */
  private announce(vip: number): void {
    if (!this.ha) this.resolver.announce(vip);
    else if (this.ha.isMaster) this.resolver.announce(vip, this.ha.virtualMac);
  }

  haStatus(): HaStatus | undefined {
    return this.ha?.status();
  }

  announcedVips(): readonly number[] {
    return this.network.announced();
  }

  targetMac(id: number): Uint8Array | undefined {
    return this.resolver.targetMac(id);
  }

  publishedTable(): ForwardingTable | undefined {
    return this.table;
  }

  private buildTable(): ForwardingTable {
    const targets = new Map<number, TargetRuntime>();
    for (const target of this.config.targets) {
      targets.set(target.id, { mac: this.resolver.targetMac(target.id), state: this.monitor.state(target.id) ?? "pending" });
    }
    const ha = this.ha;
    // A VRRP master answers with the virtual MAC; a backup stays silent for the VIPs, and so does
    // a `set announce` node until its start-up gate opens (announce-gate.ts).
    const standby = (ha !== undefined && !ha.isMaster) || (this.plan.announceTable !== undefined && !this.announcement.isOpen);
    return buildForwardingTable({ config: this.config, ownMac: ha?.isMaster ? ha.virtualMac : this.network.ownMac, standby, targets });
  }

  /** Builds a table from the current state, hands it to the workers and announces the VIPs it can serve (`set announce`). */
  publish(): void {
    if (!this.dataplane || this.stopping) return;
    const table = this.buildTable();
    this.dataplane.publish(table);
    this.table = table;
    this.announcement.update(table.servableVips());
  }

  /** An interface that disappears cannot come back to this socket: stop, as a failure, so a supervisor restarts bng. */
  private watchInterface(): void {
    if (this.network.stillPresent()) return;
    this.logger.error("interface-gone", { interface: this.plan.ifname, message: `interface ${this.plan.ifname} disappeared (deleted or replaced); bng stops` });
    this.failed = true;
    void this.stop(`interface ${this.plan.ifname} gone`);
  }

  /** One tick's share of the session sweep: the whole table within SESSION_SWEEP_MS. */
  private sweepSessions(): void {
    this.expiredSessions += this.shared.sessions.sweepTurn(this.shared.sessions.secondsAt(this.now()), SESSION_SWEEP_MS / TICK_MS);
  }

  /**
   * Loads `file` (or the file bng was started with) completely first; only a good one replaces
   * the running config.
   */
  async reload(file?: string): Promise<ControlReply> {
    const path = file === undefined ? this.startConfigPath : resolve(file);
    const loaded = loadForRun(path);
    if (!loaded.ok) {
      this.logger.warn("reload-refused", { config: path, errors: loaded.details.length, reason: loaded.message });
      return { ok: false, error: `reload refused, the running configuration stays: ${loaded.message}`, errors: loaded.details };
    }
    const planned = planReload({ config: this.config, plan: this.plan, startSettings: this.startSettings }, loaded);
    if (!planned.ok) {
      this.logger.warn("reload-refused", { config: path, reason: planned.refusal });
      return { ok: false, error: planned.refusal };
    }
    const { changes } = planned;
    for (const id of changes.renewedTargets) this.resolver.renew(id);
    // The workers judge a session's idleness by its server's timeout in the new table at once;
    // the stored timeouts (sweep, show sessions) follow.
    for (const { id, timeoutS } of changes.retimedServers) this.shared.sessions.retimeServer(id, timeoutS);
    this.config = loaded.config;
    this.plan = loaded.plan;
    this.configPath = path;
    processLogOutput.followSetting(loaded.config.settings.syslog);
    this.monitor.replaceTargets(registeredTargets(loaded.config));
    this.shared.methodInputs.followLoads(loaded.config.targets.map((target) => target.id), (id) => this.monitor.agentLoad(id));
    this.publish();
    this.shared.removeSessionsAfterReload(changes, this.logger);
    this.network.dropKernelCopies(servedVips(loaded.config));
    try {
      await this.metrics.serve(loaded.config.settings.metrics);
    } catch (error) {
      this.logger.error("metrics-failed", { error: (error as Error).message });
    }
    this.resolver.resolve(this.config);
    for (const vip of changes.newVips) this.announce(vip);
    this.logger.info("reloaded", { config: path, servers: loaded.config.servers.length, targets: loaded.config.targets.length });
    const { message, deferred } = reloadOutcome(path, loaded.config, changes.deferred);
    if (deferred) this.logger.warn("reload-deferred", { config: path, ...deferred, effect: "at the next start of bng" });
    return { ok: true, result: { message } };
  }

  handle(request: ControlRequest): Promise<ControlReply> {
    return handleRequest(this, request);
  }

  operatorContext(): OperatorContext {
    return { config: this.config, plan: this.plan, logger: this.logger, healthMonitor: this.monitor, sessions: this.shared.sessions, publish: () => this.publish(), announce: (vip: number) => this.announce(vip) };
  }

  /** Stops answering (workers first), then health checks, then undoes host changes. */
  stop(reason: string): Promise<void> {
    if (this.stopping) return this.stopping;
    this.stopping = (async () => {
      this.logger.info("stopping", { reason });
      this.timer.stop();
      // The peer takes over at once on the priority-0 advert, while this node still forwards.
      this.ha?.stop();
      this.resolver.stop();
      await this.dataplane?.stop();
      this.ioWatch.check(true);
      this.monitor?.stop();
      await this.metrics.close();
      this.network.close();
      this.logger.info("stopped", { uptime_s: Math.round((this.now() - this.startedAtMs) / 1000) });
      this.resolveStopped();
    })();
    return this.stopping;
  }
}

// `bng run`: the composition root of the daemon. It wires the real effects into the control
// plane (the host's network, the data-plane worker threads, FFI health probes, CLOCK_MONOTONIC),
// owns the control socket, the signals and the pid file, and runs until stopped.
import { existsSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";
import { Daemon } from "../control/daemon.ts";
import { StartError } from "../control/load.ts";
import type { ControlReply, ControlRequest } from "../control/protocol.ts";
import { startControlServer, type ControlServer } from "../control/socket-server.ts";
import { createSystemProbes } from "../health/system-probes.ts";
import { openHostNetwork, type HostNetwork } from "../host/host-network.ts";
import { ensurePrivateDirectory, replacePrivateFile } from "../host/private-files.ts";
import { runDirectory } from "../host/host-state.ts";
import { createLogger } from "../log/logger.ts";
import { monotonicMs } from "../../ffi/clock.ts";
import { adviseHugePages } from "../../ffi/memory.ts";
import { encodeProgram, ipv4ProtocolFilter } from "../bpf/classic.ts";
import { IPPROTO_VRRP, VRRP_GROUP, VRRP_GROUP_MAC } from "../ha/vrrp-advert.ts";
import { openFilteredSocket } from "../../ffi/filtered-socket.ts";
import { PACKET_MR_MULTICAST, PACKET_MR_UNICAST } from "../../ffi/layout.ts";
import { installLastResort } from "./last-resort.ts";
import { openUdpSyncTransport } from "./udp-sync-transport.ts";
import { startOnEngine } from "./engine-choice.ts";
import { startWorkers } from "./workers.ts";
import { EarlyThread } from "./dataplane-thread.ts";

const DATAPLANE_BATCH_SIZE = 64;

/** A diagnostic's first line (`file:line:column: error: message`), without the quoted source and caret: one log line each. */
function firstLine(detail: string): string {
  return detail.split("\n", 1)[0] ?? detail;
}

function removePidFile(path: string): void {
  if (existsSync(path)) unlinkSync(path);
}

export interface RunOptions {
  configPath: string;
  socketPath: string;
  pidFile: string | undefined;
}

/** `bng run`: the daemon in the foreground until SIGTERM/SIGINT or `bng stop`; SIGHUP reloads. */
export async function runDaemon(options: RunOptions): Promise<number> {
  // Loads the data plane's modules while the main thread reads the configuration and sets up
  // the host; let go on every return that did not start a data plane.
  const earlyThread = new EarlyThread();
  try {
    return await runUntilStopped(options, earlyThread);
  } finally {
    earlyThread.release();
  }
}

async function runUntilStopped(options: RunOptions, earlyThread: EarlyThread): Promise<number> {
  const logger = createLogger();
  let controlServer: ControlServer | undefined;
  let daemon: Daemon | undefined;
  // Signals are handled from the first moment: one that arrives while bng is starting is kept
  // and acted on as soon as there is something to stop (never the default: dying uncleanly).
  let stopSignal: NodeJS.Signals | undefined;
  const onStopSignal = (signal: NodeJS.Signals) => {
    stopSignal = signal;
    daemon?.stop(`${signal} received`).catch((error: unknown) => logger.error("stop-failed", { error: (error as Error).message }));
  };
  process.on("SIGTERM", onStopSignal);
  process.on("SIGINT", onStopSignal);
  process.on("SIGHUP", () => {
    if (!daemon) return logger.warn("reload-ignored", { reason: "SIGHUP while starting" });
    daemon
      .reload()
      .then((reply) => {
        if (!reply.ok) for (const detail of reply.errors ?? []) logger.warn("config-error", { error: firstLine(detail) });
      })
      .catch((error: unknown) => logger.error("reload-failed", { error: (error as Error).message, effect: "the running configuration stays" }));
  });
  // The box as bng changed it, for the last resort: undone before an exit on an error nothing caught.
  let network: HostNetwork | undefined;
  installLastResort(logger, () => {
    network?.close();
    if (options.pidFile) removePidFile(options.pidFile);
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
      openNetwork: (plan) => (network = openHostNetwork(plan, logger, runDirectory())),
      now: monotonicMs,
      probes: createSystemProbes(),
      openVrrpLink: (ifname, virtualMac) => {
        // Adverts only, and the interface keeps accepting frames to the virtual MAC while it is open.
        const socket = openFilteredSocket(ifname, encodeProgram(ipv4ProtocolFilter(IPPROTO_VRRP, VRRP_GROUP)), [
          { type: PACKET_MR_MULTICAST, mac: VRRP_GROUP_MAC },
          { type: PACKET_MR_UNICAST, mac: virtualMac },
        ]);
        return { receive: (buffer) => socket.receive(buffer), send: (frame, length) => network!.sendFrame(frame, length), close: () => socket.close() };
      },
      openSyncTransport: (realAddress, peerAddress) => openUdpSyncTransport(realAddress, peerAddress, logger),
      startDataplane: ({ plan, config, table, shared, onFailure }) => {
        const advice = adviseHugePages(shared.sessions);
        if (advice.failure !== undefined) logger.warn("huge-pages-unavailable", { table: "sessions", error: advice.failure, effect: "4 KiB pages: slower session lookups" });
        else logger.info("huge-pages", { table: "sessions", bytes: advice.advisedBytes, of: shared.sessions.byteLength });
        const workers = config.settings.workers;
        const options = { ifname: plan.ifname, workers, batchSize: DATAPLANE_BATCH_SIZE, table, shared, journalSessions: config.vrrp?.sync !== undefined, onFailure, logger, earlyThread };
        return startOnEngine(
          config.settings.io,
          async (engine) => {
            if (engine !== "xdp") return startWorkers({ ...options, io: engine });
            const redirect = network!.redirectToXdp(workers);
            try {
              const dataplane = await startWorkers({ ...options, io: engine, xdp: redirect });
              // The program goes once the workers' sockets are closed.
              return { ...dataplane, stop: () => dataplane.stop().finally(() => redirect.close()) };
            } catch (error) {
              redirect.close();
              throw error;
            }
          },
          logger,
        );
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
    try {
      ensurePrivateDirectory(dirname(options.pidFile));
      replacePrivateFile(options.pidFile, `${process.pid}\n`);
    } catch (error) {
      logger.error("pid-file-failed", { path: options.pidFile, error: (error as Error).message });
      await running.stop("the pid file cannot be written");
      await controlServer.close();
      return 1;
    }
  }
  if (stopSignal) void running.stop(`${stopSignal} received while starting`);
  else logger.info("ready", { socket: options.socketPath });
  await running.stopped;
  await controlServer.close();
  if (options.pidFile) removePidFile(options.pidFile);
  // A failure exits non-zero so that a supervisor (systemd's Restart=on-failure) restarts bng.
  return running.failed ? 1 : 0;
}

// A real Daemon with its control socket, in this process, on an in-memory box: the host network
// records the frames bng sends (ARP requests, gratuitous ARPs), the data plane is one Processor
// over the in-memory PacketIO that the test feeds, and health probes answer as the test says.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { monotonicMs } from "../../ffi/clock.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ipToString } from "../../src/config/model.ts";
import { Daemon } from "../../src/control/daemon.ts";
import type { Dataplane } from "../../src/control/dependencies.ts";
import { createLogger } from "../../src/log/logger.ts";
import { startControlServer, type ControlServer } from "../../src/control/socket-server.ts";
import { workerCounters } from "../../src/dataplane/counters.ts";
import { NeighbourTable } from "../../src/dataplane/neighbours.ts";
import { Processor } from "../../src/dataplane/process.ts";
import { TargetMetrics } from "../../src/dataplane/target-metrics.ts";
import { SessionTable } from "../../src/dataplane/sessions.ts";
import type { ForwardingTable } from "../../src/dataplane/table.ts";
import type { ProbeResult } from "../../src/health/state.ts";
import type { Probes } from "../../src/health/probe.ts";
import { arpFrame, mac, tcpFrame, TCP_ACK, TCP_SYN } from "../fixtures/frames.ts";
import { MemoryPacketIO } from "../fixtures/memory-io.ts";
import { SEED_CONFIG_PATH } from "../e2e/bng.ts";

export const OWN_MAC = "02:00:00:00:00:fe";
export const CLIENT_MAC = "02:00:00:00:aa:01";
export const VIP = "172.16.1.10";

function targetMacOf(id: number): string {
  return `02:00:00:00:0b:${id.toString(16).padStart(2, "0")}`;
}

/** The seed's DSR example, unchanged (tcpopen 80,3,10 on both targets). */
export const SEED_CONFIG_TEXT = readFileSync(SEED_CONFIG_PATH, "utf8");

/** The seed's DSR example with faster checks (tcpopen 80,1,2), so a test sees state changes within seconds. */
export const SEED_FAST_CHECKS_TEXT = SEED_CONFIG_TEXT.replaceAll("tcpopen 80,3,10", "tcpopen 80,1,2");

export class DaemonHarness {
  readonly dir = mkdtempSync(join(tmpdir(), "bng-ctl-"));
  readonly socket = join(this.dir, "run", "bng.sock");
  readonly io = new MemoryPacketIO(64, 2048);
  /** Frames bng sent through its host network (not the data plane). */
  readonly hostFrames: Uint8Array[] = [];
  /** The daemon's session table, as its data plane sees it (set once the daemon started). */
  sessions: SessionTable | undefined;
  /** The VIPs the daemon last asked the host to announce (`set announce`). */
  announcedVips: number[] = [];
  /** Every VIP list the daemon asked the host to drop the kernel's copies of, in order. */
  readonly kernelDroppedVips: number[][] = [];
  readonly logLines: string[] = [];
  /** Whether the fake interface still exists. */
  interfacePresent = true;
  /** Health answers by target address; absent = connection refused. */
  readonly healthy = new Set<string>();
  /** The load a healthy target's agent reports, by target address; absent = a reply without a load. */
  readonly agentLoads = new Map<string, number>();
  daemon!: Daemon;
  server!: ControlServer;
  private processor: Processor | undefined;
  private reportFailure: ((message: string) => void) | undefined;

  writeConfig(name: string, text: string): string {
    const path = join(this.dir, name);
    writeFileSync(path, text);
    return path;
  }

  private probes(): Probes {
    const answer = (destination: number, done: (result: ProbeResult) => void) => {
      const timer = setTimeout(
        () => done(this.healthy.has(ipToString(destination)) ? { ok: true, latencyMs: 0.25 } : { ok: false, cause: "refused" }),
        1,
      );
      return { cancel: () => clearTimeout(timer) };
    };
    return {
      tcpopen: (_source, destination, _port, done) => answer(destination, done),
      ping: (_source, destination, done) => answer(destination, done),
      arp: (_source, destination, done) => answer(destination, done),
      agent: (_source, destination, _port, done) =>
        answer(destination, (result) => {
          const load = this.agentLoads.get(ipToString(destination));
          done(result.ok && load !== undefined ? { ...result, load } : result);
        }),
      script: (_path, destination, _port, done) => answer(destination, done),
      http: (_source, destination, _port, _path, done) => answer(destination, done),
      dsrcheck: (_source, path, _port, done) => answer(path.vips[0] ?? 0, done),
      close() {},
    };
  }

  async start(configText = SEED_FAST_CHECKS_TEXT): Promise<void> {
    const configPath = this.writeConfig("bng.conf", configText);
    this.daemon = await Daemon.start(configPath, {
      logger: createLogger((line) => this.logLines.push(line)),
      openNetwork: (plan) => ({
        ifname: plan.ifname,
        ownMac: mac(OWN_MAC),
        sendFrame: (frame, length) => void this.hostFrames.push(frame.slice(0, length)),
        stillPresent: () => this.interfacePresent,
        dropKernelCopies: (vips) => void this.kernelDroppedVips.push([...vips]),
        linkUp: () => this.interfacePresent,
        announce: (vips) => void (this.announcedVips = [...vips]),
        announced: () => this.announcedVips,
        redirectToXdp: () => {
          throw new Error("the harness runs no XDP program");
        },
        close() {},
      }),
      startDataplane: async ({ table, shared, onFailure }) => {
        this.reportFailure = onFailure;
        this.sessions = new SessionTable(shared.sessions);
        this.processor = new Processor({
          rx: this.io.rx,
          tx: this.io.tx,
          table,
          sessions: this.sessions,
          neighbours: new NeighbourTable(shared.neighbours),
          counters: workerCounters(shared.counters, 0),
          metrics: new TargetMetrics(shared.targetMetrics),
          clock: monotonicMs,
          randomSeed: 7,
        });
        const dataplane: Dataplane = {
          // In memory; what the status reports as the engine is the default's.
          engine: "mmsg",
          publish: (next: ForwardingTable) => this.processor?.setTable(next),
          stop: async () => {
            this.processor = undefined;
          },
        };
        return dataplane;
      },
      probes: this.probes(),
      now: monotonicMs,
      openVrrpLink: () => {
        throw new Error("the in-memory daemon has no VRRP link: test VRRP in namespaces");
      },
      openSyncTransport: () => {
        throw new Error("the in-memory daemon has no sync transport: test session sync in namespaces");
      },
    });
    this.server = await startControlServer(this.socket, (request) => this.daemon.handle(request));
  }

  /** The data plane reports a failure, as a crashed worker thread does. */
  failDataplane(message: string): void {
    this.reportFailure?.(message);
  }

  /** Runs queued frames through the data plane; returns what it sent. */
  pump(): Uint8Array[] {
    const before = this.io.sent.length;
    while (this.processor && this.io.pending > 0) {
      this.io.receive();
      this.processor.processBatch();
      this.io.send();
    }
    return this.io.sent.slice(before);
  }

  /** Targets answer bng's ARP requests, so their MACs are learned. */
  answerArp(ids: number[]): void {
    for (const id of ids) {
      this.io.inject(
        arpFrame({ op: 2, dst: OWN_MAC, senderMac: targetMacOf(id), senderIp: `172.16.1.${99 + id}`, targetMac: OWN_MAC, targetIp: "172.16.1.252" }),
      );
    }
    this.pump();
  }

  /** One client's TCP frame to the VIP; returns the frame bng forwarded, if any. */
  clientFrame(client: string, port = 80, flags = TCP_SYN, srcPort = 40000): Uint8Array | undefined {
    this.io.inject(tcpFrame({ src: CLIENT_MAC, dst: OWN_MAC, srcIp: client, dstIp: VIP, srcPort, dstPort: port, flags }));
    return this.pump()[0];
  }

  /** The target id a forwarded frame went to, from its destination MAC. */
  static targetOf(frame: Uint8Array | undefined): number | undefined {
    if (!frame) return undefined;
    const destination = Array.from(frame.subarray(0, 6), (b) => b.toString(16).padStart(2, "0")).join(":");
    const match = /^02:00:00:00:0b:([0-9a-f]{2})$/.exec(destination);
    return match ? parseInt(match[1]!, 16) : undefined;
  }

  async waitFor(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await predicate())) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await Bun.sleep(25);
    }
  }

  async stop(): Promise<void> {
    await this.daemon?.stop("test over");
    await this.server?.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export { TCP_ACK, TCP_SYN };

// Health-check latency histograms, fed by wrapping the probes: every successful attempt is
// observed, not only state changes.
import type { Probes } from "../health/probe.ts";

/** Upper bounds in seconds (Prometheus `le`). */
export const LATENCY_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] as const;

export interface Histogram {
  /** Per bucket: observations at or below its bound (not cumulative). */
  buckets: number[];
  /** Observations above the last bound. */
  overflow: number;
  count: number;
  sumS: number;
}

/** Key: "tcpopen 172.16.1.100:80", "ping 172.16.1.100", "http 172.16.1.100:80", "dsrcheck 172.16.1.10:80" (the VIPs), ... */
export class LatencyHistograms {
  readonly byCheck = new Map<string, Histogram>();

  observe(check: string, seconds: number): void {
    let histogram = this.byCheck.get(check);
    if (!histogram) {
      histogram = { buckets: LATENCY_BUCKETS_S.map(() => 0), overflow: 0, count: 0, sumS: 0 };
      this.byCheck.set(check, histogram);
    }
    const bucket = LATENCY_BUCKETS_S.findIndex((bound) => seconds <= bound);
    if (bucket < 0) histogram.overflow++;
    else histogram.buckets[bucket]!++;
    histogram.count++;
    histogram.sumS += seconds;
  }

  /** The same probes, reporting each success's latency here. */
  wrap(probes: Probes, addressOf: (ip: number) => string): Probes {
    return {
      tcpopen: (source, destination, port, done) =>
        probes.tcpopen(source, destination, port, (result) => {
          if (result.ok) this.observe(`tcpopen ${addressOf(destination)}:${port}`, result.latencyMs / 1000);
          done(result);
        }),
      ping: (source, destination, done) =>
        probes.ping(source, destination, (result) => {
          if (result.ok) this.observe(`ping ${addressOf(destination)}`, result.latencyMs / 1000);
          done(result);
        }),
      arp: (source, destination, done) =>
        probes.arp(source, destination, (result) => {
          if (result.ok) this.observe(`arp ${addressOf(destination)}`, result.latencyMs / 1000);
          done(result);
        }),
      agent: (source, destination, port, done) =>
        probes.agent(source, destination, port, (result) => {
          if (result.ok) this.observe(`agent ${addressOf(destination)}:${port}`, result.latencyMs / 1000);
          done(result);
        }),
      script: (path, destination, port, done) =>
        probes.script(path, destination, port, (result) => {
          if (result.ok) this.observe(`script ${addressOf(destination)}:${port}`, result.latencyMs / 1000);
          done(result);
        }),
      http: (source, destination, port, path, done) =>
        probes.http(source, destination, port, path, (result) => {
          if (result.ok) this.observe(`http ${addressOf(destination)}:${port}`, result.latencyMs / 1000);
          done(result);
        }),
      dsrcheck: (source, path, port, done) =>
        probes.dsrcheck(source, path, port, (result) => {
          if (result.ok) this.observe(`dsrcheck ${path.vips.map(addressOf).join(",")}:${port}`, result.latencyMs / 1000);
          done(result);
        }),
      close: () => probes.close(),
    };
  }
}

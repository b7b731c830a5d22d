import { describe, expect, test } from "bun:test";
import { MessageChannel } from "node:worker_threads";
import { DataplaneThread, EarlyThread, type ThreadFailure } from "../../src/main/dataplane-thread.ts";
import type { WorkerStart } from "../../src/main/worker-protocol.ts";

const within = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms))]);

/** A start message for an interface that does not exist: the worker fails opening its socket. */
function startOnAbsentInterface(): WorkerStart {
  const region = () => new SharedArrayBuffer(64);
  return {
    index: 0,
    ifname: "bngabsent0",
    batchSize: 64,
    io: "mmsg",
    fanoutGroup: undefined,
    socketFilter: new Uint8Array(0),
    xdpSocketMap: undefined,
    // The socket is opened before any of these is read.
    exchange: region(),
    table: region(),
    sessions: region(),
    neighbours: region(),
    counters: region(),
    targetMetrics: region(),
    batchStats: region(),
    journal: region(),
    journalSessions: false,
    control: new SharedArrayBuffer(4),
    tables: new MessageChannel().port2,
  };
}

describe("a data-plane thread", () => {
  test("one never started ends by itself when let go", async () => {
    const thread = new DataplaneThread();
    let readiness = "pending";
    thread.ready.then(
      () => (readiness = "ready"),
      (error: Error) => (readiness = `failed: ${error.message}`),
    );
    thread.release();
    await within(thread.exited, 10_000, "the thread's exit");
    expect(thread.hasExited).toBe(true);
    // It ended without taking the `null` for a start message and failing on it.
    expect(readiness).toBe("pending");
  });

  test("one whose socket cannot open: the failure is heard, ready rejects, the thread ends", async () => {
    const thread = new DataplaneThread();
    const failures: ThreadFailure[] = [];
    thread.start(startOnAbsentInterface(), (failure) => failures.push(failure));
    await expect(within(thread.ready, 10_000, "ready")).rejects.toThrow(/bngabsent0/);
    await within(thread.stopped, 1000, "stopped");
    await within(thread.exited, 10_000, "the thread's exit");
    expect(failures).toHaveLength(1);
    expect(failures[0]!.how).toBe("failed");
    expect(failures[0]!.message).toContain("bngabsent0");
    // Let go after its start, it is not asked again.
    thread.release();
  });

  test("an early thread is taken once; a later data plane makes its own", () => {
    const early = new EarlyThread();
    const first = early.take();
    expect(first).toBeInstanceOf(DataplaneThread);
    expect(early.take()).toBeUndefined();
    first!.release();
    early.release();
  });
});

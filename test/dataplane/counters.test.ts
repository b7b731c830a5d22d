// The workers' I/O totals in the shared counters: copied per worker, summed by the control side,
// and the errno of a refused send taken from the worker that refused the most.
import { describe, expect, test } from "bun:test";
import { EVENT, createCounters, eventTotal, lastSendErrno, readCounters, recordIoTotals, workerCounters, workerRegions } from "../../src/dataplane/counters.ts";
import { ENETDOWN, ENOBUFS } from "../../ffi/errors.ts";

describe("I/O totals in the counters", () => {
  test("each worker's totals are its own; the control side sums them, events included", () => {
    const buffer = createCounters(3);
    recordIoTotals(workerCounters(buffer, 0), { kernelDrops: 5, sendDropped: 1, receiveErrors: 0, lastSendErrno: ENETDOWN });
    recordIoTotals(workerCounters(buffer, 2), { kernelDrops: 7, sendDropped: 4, receiveErrors: 2, lastSendErrno: ENOBUFS });
    // Copied again a second later: totals replace, never add.
    recordIoTotals(workerCounters(buffer, 2), { kernelDrops: 9, sendDropped: 4, receiveErrors: 2, lastSendErrno: ENOBUFS });
    const regions = workerRegions(buffer);
    expect(regions).toHaveLength(3);
    expect(eventTotal(regions, EVENT.kernel_drops)).toBe(14);
    expect(eventTotal(regions, EVENT.send_refused)).toBe(5);
    const { events } = readCounters(buffer);
    expect({ kernel_drops: events.kernel_drops, send_refused: events.send_refused, receive_errors: events.receive_errors }).toEqual({ kernel_drops: 14, send_refused: 5, receive_errors: 2 });
    // Worker 2 refused the most: its errno is the one reported.
    expect(lastSendErrno(regions)).toBe(ENOBUFS);
  });

  test("no refused send: no errno, whatever a worker last stored", () => {
    const buffer = createCounters(2);
    recordIoTotals(workerCounters(buffer, 1), { kernelDrops: 3, sendDropped: 0, receiveErrors: 0, lastSendErrno: 0 });
    expect(lastSendErrno(workerRegions(buffer))).toBe(0);
  });
});

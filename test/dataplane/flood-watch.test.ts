// The flood-defence state the control side logs: a line when new sessions start being refused,
// one a minute while that goes on, one when it has ended (issue 19).

import { describe, expect, test } from "bun:test";
import { FLOOD_ENDED, FLOOD_ENDS_AFTER_MS, FLOOD_ONGOING, FLOOD_QUIET, FLOOD_STARTED, FloodWatch } from "../../src/dataplane/flood-watch.ts";

describe("flood watch", () => {
  test("started, once a minute while refusals go on, ended after a quiet spell; counts cover the time since the last line", () => {
    const watch = new FloodWatch();
    // Quiet for a while (the workers' totals count from bng's start).
    for (let s = 0; s <= 10; s++) expect(watch.step(0, 0, s * 1000)).toBe(FLOOD_QUIET);
    expect(watch.step(1000, 995, 11_000)).toBe(FLOOD_STARTED);
    expect([watch.active, watch.refused, watch.stateless, watch.overS, watch.lastedS]).toEqual([true, 1000, 995, 1, 1]);
    let refused = 1000;
    const kinds: number[] = [];
    for (let s = 12; s <= 150; s++) {
      refused += 1000;
      kinds.push(watch.step(refused, refused - 5, s * 1000));
      if (kinds.at(-1) === FLOOD_ONGOING) expect([watch.refused, watch.overS]).toEqual([60_000, 60]);
    }
    // Lines at 71 s and 131 s: a minute after the start's line at 11 s, then a minute after that.
    expect(kinds.flatMap((kind, i) => (kind === FLOOD_QUIET ? [] : [[kind, i + 12]]))).toEqual([[FLOOD_ONGOING, 71], [FLOOD_ONGOING, 131]]);
    expect(watch.lastedS).toBe(131 - 10);
    // Refusals stop after 150 s; the end is told FLOOD_ENDS_AFTER_MS later, with what was left.
    for (let s = 151; s < 150 + FLOOD_ENDS_AFTER_MS / 1000; s++) expect(watch.step(refused, refused - 5, s * 1000)).toBe(FLOOD_QUIET);
    expect(watch.step(refused, refused - 5, 160_000)).toBe(FLOOD_ENDED);
    expect([watch.active, watch.refused, watch.overS, watch.lastedS]).toEqual([false, 19_000, 29, 150]);
    // And a new flood is a new start.
    expect(watch.step(refused + 7, refused, 161_000)).toBe(FLOOD_STARTED);
    expect(watch.refused).toBe(7);
  });

  test("refusals counted before the first look (since bng started) start a flood at the first look", () => {
    const watch = new FloodWatch();
    expect(watch.step(5, 5, 1000)).toBe(FLOOD_STARTED);
    expect([watch.refused, watch.overS, watch.lastedS]).toEqual([5, 0, 0]);
  });
});

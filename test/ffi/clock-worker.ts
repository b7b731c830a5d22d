// Worker side of clock.test.ts: waits for the main thread's go, then reads the
// monotonic clock and this thread's performance.now() into the shared cells and says so.
import { monotonicMs } from "../../ffi/clock.ts";

declare const self: Worker;

self.onmessage = (event: MessageEvent<SharedArrayBuffer>) => {
  const times = new Float64Array(event.data, 0, 2);
  const flags = new Int32Array(event.data, 16, 2);
  Atomics.wait(flags, 0, 0);
  times[0] = monotonicMs();
  times[1] = performance.now();
  Atomics.store(flags, 1, 1);
};

// The native baseline's own loop (fwd.c built as a shared library, `main` renamed `fwd_main`)
// run inside a Bun process the way bng runs its data plane: in a worker thread, through
// bun:ffi, while the main thread keeps a 100 ms timer as bng's control thread does. Its rate
// against the standalone native forwarder is what the runtime costs by itself, so the rest of
// bng's distance to the baseline is bng's own JavaScript.
//
//   bun bench/baseline/in-bun.ts LIBRARY IFNAME VIP TARGET_MAC
//
// SIGTERM/SIGINT reach fwd.c's handler (it replaces Bun's), the loop ends, and so does the process.
import { dlopen, FFIType, ptr } from "bun:ffi";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";

if (isMainThread) {
  const [library, ...args] = process.argv.slice(2);
  if (!library || args.length !== 3) {
    console.error("usage: bun bench/baseline/in-bun.ts LIBRARY IFNAME VIP TARGET_MAC");
    process.exit(2);
  }
  const worker = new Worker(new URL(import.meta.url).pathname, { workerData: { library, args } });
  const timer = setInterval(() => {}, 100);
  worker.on("message", (code: number) => {
    clearInterval(timer);
    process.exit(code);
  });
  worker.on("error", (error: Error) => {
    console.error(`in-bun: ${error.message}`);
    process.exit(1);
  });
} else {
  const { library, args } = workerData as { library: string; args: string[] };
  const { symbols } = dlopen(library, { fwd_main: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 } });
  const argv = ["fwd", ...args].map((arg) => Buffer.from(`${arg}\0`));
  const pointers = new BigUint64Array(argv.length + 1);
  argv.forEach((arg, i) => (pointers[i] = BigInt(ptr(arg))));
  parentPort!.postMessage(symbols.fwd_main(argv.length, ptr(pointers)));
}

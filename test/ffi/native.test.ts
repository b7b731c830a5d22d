// The runtime's FFI adapter (ffi/native.ts), on whichever runtime runs the test (`bun test`, and
// Deno through `npm run test:deno`): addresses and kept pointers name the same bytes, memory at
// an address is that memory and not a copy, and errno is the calling thread's in a Worker too
// (on Deno each thread's reader keeps the location it asked for once).
import { describe, expect, test } from "bun:test";
import { EBADF } from "../../ffi/errors.ts";
import { lastErrno, libc } from "../../ffi/libc.ts";
import { native } from "../../ffi/native.ts";

describe(`the FFI adapter (${native.runtime})`, () => {
  test("a kept pointer to an address inside a buffer is where memcpy reads and writes", () => {
    const bytes = new Uint8Array(new ArrayBuffer(64));
    bytes.set([1, 2, 3, 4, 5, 6, 7, 8], 8);
    const base = native.addressOf(bytes);
    expect(native.addressOf(new Uint8Array(bytes.buffer, 8))).toBe(base + 8);
    libc.memcpy(native.pointer(base + 40), native.pointer(base + 8), 8);
    expect([...bytes.subarray(40, 48)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  test("memory at an address is a view of it: writes through either side are seen by the other", () => {
    const bytes = new Uint8Array(new ArrayBuffer(32));
    const view = new Uint8Array(native.memoryAt(native.addressOf(bytes), 32));
    view[3] = 0xab;
    expect(bytes[3]).toBe(0xab);
    bytes[30] = 0xcd;
    expect(view[30]).toBe(0xcd);
  });

  test("a C string result arrives as a string", () => {
    expect(libc.strerror(EBADF)).toBe("Bad file descriptor");
  });

  test("errno is the calling thread's, in a Worker and in the thread that started it", async () => {
    const worker = new Worker(new URL("./errno-worker.ts", import.meta.url).href, { type: "module" });
    try {
      const code = await new Promise<string>((resolve, reject) => {
        worker.onmessage = (event: MessageEvent<string>) => resolve(event.data);
        worker.onerror = (event) => reject(new Error(event.message));
        worker.postMessage("bngnone0native");
      });
      expect(code).toBe("ENODEV");
      expect(libc.close(-1)).toBe(-1);
      expect(lastErrno()).toBe(EBADF);
    } finally {
      worker.terminate();
    }
  });
});

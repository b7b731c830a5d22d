// Worker side of interface.test.ts: errno of a failing call made in this thread.
import { SyscallError } from "../../ffi/errors.ts";
import { interfaceIndex } from "../../ffi/interface.ts";

declare const self: Worker;

self.onmessage = (event: MessageEvent<string>) => {
  try {
    interfaceIndex(event.data);
    self.postMessage("no error");
  } catch (error) {
    self.postMessage(error instanceof SyscallError ? error.code : String(error));
  }
};

// One request, one reply over the control socket; errors name the socket and what to do.
import { statSync } from "node:fs";
import { connect } from "node:net";
import type { ControlReply, ControlRequest } from "./protocol.ts";

export class ControlConnectError extends Error {}

export function sendControlRequest(path: string, request: ControlRequest, timeoutMs = 5000): Promise<ControlReply> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let received = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ControlConnectError(`no reply from bng on ${path} within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    // A streaming decoder: a character split across two reads is not turned into U+FFFD.
    socket.setEncoding("utf8");
    socket.once("connect", () => socket.write(JSON.stringify(request) + "\n"));
    socket.on("data", (chunk: string) => {
      received += chunk;
      const newline = received.indexOf("\n");
      if (newline < 0) return;
      clearTimeout(timer);
      socket.end();
      try {
        resolve(JSON.parse(received.slice(0, newline)) as ControlReply);
      } catch {
        reject(new ControlConnectError(`bng on ${path} sent a reply that is not JSON`));
      }
    });
    socket.once("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new ControlConnectError(`cannot reach bng on ${path}: ${connectHint(path, error)}`));
    });
  });
}

function connectHint(path: string, error: NodeJS.ErrnoException): string {
  // Bun reports a refused permission on a unix socket as ENOENT; stat tells the two apart.
  let code = error.code;
  if (code === "ENOENT") {
    try {
      statSync(path);
    } catch (statError) {
      code = (statError as NodeJS.ErrnoException).code;
    }
  }
  if (code === "EACCES" || code === "EPERM") return "permission denied: the control socket is for root only";
  if (code === "ENOENT" || code === "ECONNREFUSED") return "is bng running? start it with 'bng run CONFIG' or name its socket with --socket";
  return error.message;
}

// The control socket: a unix stream socket, mode 0600 inside a 0700 directory, speaking
// newline-delimited JSON. A bad request gets an error reply; the daemon keeps running.
import { chmodSync, existsSync, mkdirSync, statSync, unlinkSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { dirname } from "node:path";
import { IDLE_CLIENT_MS, MAX_REQUEST_BYTES, parseRequest, type ControlReply, type ControlRequest } from "./protocol.ts";

export type RequestHandler = (request: ControlRequest) => Promise<ControlReply>;

export class SocketInUseError extends Error {}

function isLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
}

/** Prepares the socket path: creates the 0700 directory, refuses a live socket, removes a stale one. */
async function claimPath(path: string): Promise<void> {
  const dir = dirname(path);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!existsSync(path)) return;
  if (!statSync(path).isSocket()) {
    throw new SocketInUseError(`${path} exists and is not a socket; remove it or choose another path with --socket`);
  }
  if (await isLive(path)) {
    throw new SocketInUseError(`another bng is already running on ${path}; stop it with 'bng stop' or choose another --socket`);
  }
  unlinkSync(path);
}

export interface ControlServer {
  readonly path: string;
  close(): Promise<void>;
}

export async function startControlServer(path: string, handle: RequestHandler, idleClientMs = IDLE_CLIENT_MS): Promise<ControlServer> {
  await claimPath(path);
  const clients = new Set<Socket>();
  const server: Server = createServer((socket) => serveClient(socket, handle, clients, idleClientMs));
  // The umask keeps the socket private from the moment it exists, not only after a chmod.
  const previousUmask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(path, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } finally {
    process.umask(previousUmask);
  }
  chmodSync(path, 0o600);
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of clients) client.destroy();
        server.close(() => {
          if (existsSync(path)) unlinkSync(path);
          resolve();
        });
      }),
  };
}

function serveClient(socket: Socket, handle: RequestHandler, clients: Set<Socket>, idleClientMs: number): void {
  clients.add(socket);
  let pending = "";
  let closing = false;
  let busy = Promise.resolve();
  // Requests received and not yet answered: the client is waiting on bng then, not idle.
  let unanswered = 0;
  const reply = (message: ControlReply) => {
    if (!socket.destroyed) socket.write(JSON.stringify(message) + "\n");
  };
  // Our own timer, not socket.setTimeout: Bun fires a socket's timeout once and never again, and
  // the idle time must start over after each reply.
  const idleTimer = setTimeout(() => {
    if (unanswered > 0) return;
    reply({ ok: false, error: `nothing received for ${idleClientMs / 1000} s; closing` });
    socket.end();
  }, idleClientMs);
  socket.on("error", () => socket.destroy());
  socket.on("close", () => {
    clearTimeout(idleTimer);
    clients.delete(socket);
  });
  // A streaming decoder: a character split across two reads is not turned into U+FFFD.
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    if (closing) return;
    idleTimer.refresh();
    pending += chunk;
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      if (line === "") continue;
      // A whole line in one read must meet the limit too, in bytes as the protocol states it.
      if (Buffer.byteLength(line, "utf8") > MAX_REQUEST_BYTES) return refuseTooLong();
      // Replies go out in request order even when a handler is slow.
      unanswered++;
      busy = busy.then(async () => {
        const parsed = parseRequest(line);
        try {
          if (!parsed.ok) return reply(parsed.reply);
          reply(await handle(parsed.request));
        } catch (error) {
          reply({ ok: false, error: `internal error: ${error instanceof Error ? error.message : String(error)}` });
        } finally {
          // The idle time counts from the last reply; a timeout that fired meanwhile was ignored.
          if (--unanswered === 0 && !socket.destroyed) idleTimer.refresh();
        }
      });
    }
    if (Buffer.byteLength(pending, "utf8") > MAX_REQUEST_BYTES) refuseTooLong();
  });
  function refuseTooLong(): void {
    pending = "";
    closing = true;
    reply({ ok: false, error: `request longer than ${MAX_REQUEST_BYTES} bytes; closing` });
    socket.end();
  }
}

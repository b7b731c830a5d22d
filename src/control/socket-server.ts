// The control socket: a unix stream socket, mode 0600 inside a 0700 directory owned by bng's
// user, speaking newline-delimited JSON. A bad request gets an error reply; the daemon keeps
// running. Every client is bounded: at most MAX_CLIENTS connections (an idle one makes room for
// a newcomer), MAX_PIPELINED requests waiting per connection (reading pauses beyond), and a
// reply that the client does not read pauses reading too (backpressure), so no client can make
// bng buffer without end.
import { chmodSync, existsSync, lstatSync, unlinkSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { dirname } from "node:path";
import { ensurePrivateDirectory } from "../host/private-files.ts";
import { IDLE_CLIENT_MS, MAX_REQUEST_BYTES, parseRequest, type ControlReply, type ControlRequest } from "./protocol.ts";

export type RequestHandler = (request: ControlRequest) => Promise<ControlReply>;

export class SocketInUseError extends Error {}

/** Connections served at once. */
export const MAX_CLIENTS = 64;
/** Requests of one connection received and not yet answered; reading waits beyond. */
export const MAX_PIPELINED = 16;

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

/** Prepares the socket path: a private directory, no live socket, a stale one removed. */
async function claimPath(path: string): Promise<void> {
  ensurePrivateDirectory(dirname(path));
  if (!existsSync(path)) return;
  if (!lstatSync(path).isSocket()) {
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

/** One connection's state, for the limits. */
interface Client {
  readonly socket: Socket;
  /** Requests received and not yet answered: the client is waiting on bng then, not idle. */
  unanswered: number;
  /** When it last sent or was answered (monotonic ms). */
  lastActiveMs: number;
}

export async function startControlServer(path: string, handle: RequestHandler, idleClientMs = IDLE_CLIENT_MS): Promise<ControlServer> {
  await claimPath(path);
  const clients = new Set<Client>();
  const server: Server = createServer((socket) => {
    if (clients.size >= MAX_CLIENTS && !closeLongestIdle(clients)) {
      socket.on("error", () => socket.destroy());
      socket.end(`${JSON.stringify({ ok: false, error: `too many control connections (${MAX_CLIENTS} waiting for replies); try again` })}\n`);
      return;
    }
    serveClient(socket, handle, clients, idleClientMs);
  });
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
        for (const client of clients) client.socket.destroy();
        server.close(() => {
          if (existsSync(path)) unlinkSync(path);
          resolve();
        });
      }),
  };
}

/** Closes the connection idle the longest (none of its requests waiting) to make room; false when every one is waiting. */
function closeLongestIdle(clients: Set<Client>): boolean {
  let oldest: Client | undefined;
  for (const client of clients) {
    if (client.unanswered === 0 && (oldest === undefined || client.lastActiveMs < oldest.lastActiveMs)) oldest = client;
  }
  if (oldest === undefined) return false;
  clients.delete(oldest);
  oldest.socket.end(`${JSON.stringify({ ok: false, error: `closing: ${MAX_CLIENTS} control connections are open and this one was idle the longest` })}\n`);
  return true;
}

function serveClient(socket: Socket, handle: RequestHandler, clients: Set<Client>, idleClientMs: number): void {
  const client: Client = { socket, unanswered: 0, lastActiveMs: performance.now() };
  clients.add(client);
  let pending = "";
  let closing = false;
  let waitingForDrain = false;
  let busy = Promise.resolve();
  const reply = (message: ControlReply) => {
    if (socket.destroyed) return;
    if (!socket.write(JSON.stringify(message) + "\n")) waitingForDrain = true;
  };
  // Our own timer, not socket.setTimeout: Bun fires a socket's timeout once and never again, and
  // the idle time must start over after each reply.
  const idleTimer = setTimeout(() => {
    if (client.unanswered > 0) return;
    reply({ ok: false, error: `nothing received for ${idleClientMs / 1000} s; closing` });
    socket.end();
  }, idleClientMs);
  socket.on("error", () => socket.destroy());
  socket.on("close", () => {
    clearTimeout(idleTimer);
    clients.delete(client);
  });
  socket.on("drain", () => {
    waitingForDrain = false;
    takeRequests();
  });
  // A streaming decoder: a character split across two reads is not turned into U+FFFD.
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    if (closing) return;
    idleTimer.refresh();
    client.lastActiveMs = performance.now();
    pending += chunk;
    takeRequests();
  });

  /** Starts the complete lines waiting, within the limits; reading pauses while a limit holds. */
  function takeRequests(): void {
    let newline: number;
    while (!closing && client.unanswered < MAX_PIPELINED && !waitingForDrain && (newline = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      if (line === "") continue;
      // A whole line in one read must meet the limit too, in bytes as the protocol states it.
      if (Buffer.byteLength(line, "utf8") > MAX_REQUEST_BYTES) return refuseTooLong();
      start(line);
    }
    if (!closing && pending.indexOf("\n") < 0 && Buffer.byteLength(pending, "utf8") > MAX_REQUEST_BYTES) return refuseTooLong();
    if (client.unanswered >= MAX_PIPELINED || waitingForDrain) socket.pause();
    else socket.resume();
  }

  /** Handles one request line; replies go out in request order even when a handler is slow. */
  function start(line: string): void {
    client.unanswered++;
    busy = busy.then(async () => {
      const parsed = parseRequest(line);
      try {
        if (!parsed.ok) return reply(parsed.reply);
        reply(await handle(parsed.request));
      } catch (error) {
        reply({ ok: false, error: `internal error: ${error instanceof Error ? error.message : String(error)}` });
      } finally {
        client.lastActiveMs = performance.now();
        // The idle time counts from the last reply; a timeout that fired meanwhile was ignored.
        if (--client.unanswered === 0 && !socket.destroyed) idleTimer.refresh();
        takeRequests();
      }
    });
  }

  function refuseTooLong(): void {
    pending = "";
    closing = true;
    reply({ ok: false, error: `request longer than ${MAX_REQUEST_BYTES} bytes; closing` });
    socket.end();
  }
}

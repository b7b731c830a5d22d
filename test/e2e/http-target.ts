// The web server of one lab target: answers every request on port 80 with the target's name,
// so a client can tell which target served it. The `x-client-address` header echoes the peer
// address the server saw, which lets tests prove the load generator's per-client source
// addresses really arrive (a DSR balancer must keep them unchanged).
// Usage (inside the target's namespace): bun test/e2e/http-target.ts <name> [port] [address]
// (address: where it listens, default every address, 0.0.0.0)

const [name, portArgument = "80", hostname = "0.0.0.0"] = Bun.argv.slice(2);
if (name === undefined || !/^[a-z0-9-]+$/.test(name)) {
  console.error("usage: http-target.ts <name> [port] [address]");
  process.exit(2);
}
const port = Number(portArgument);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`http-target: bad port ${portArgument}`);
  process.exit(2);
}

const server = Bun.serve({
  hostname,
  port,
  // Idle keep-alive connections must not pin the server when a test stops it.
  idleTimeout: 5,
  fetch(request, bunServer) {
    return new Response(name, {
      headers: {
        "content-type": "text/plain",
        "x-client-address": bunServer.requestIP(request)?.address ?? "unknown",
      },
    });
  },
});

// The lab waits for this line before it reports the target as serving.
console.log(`listening ${name} ${server.port}`);

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    void server.stop(true);
    process.exit(0);
  });
}

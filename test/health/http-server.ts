// A real HTTP server for the `http` check's namespace tests: Bun.serve on PORT, answering every
// request with the status in STATUS_FILE (read at each request) and printing one JSON line per
// request: its method, path and peer address.
import { readFileSync } from "node:fs";

const [portText, statusFile] = process.argv.slice(2);
const server = Bun.serve({
  hostname: "0.0.0.0",
  port: Number(portText),
  fetch(request, bun) {
    const url = new URL(request.url);
    console.log(JSON.stringify({ method: request.method, path: url.pathname, peer: bun.requestIP(request)?.address }));
    return new Response("checked\n", { status: Number(readFileSync(statusFile!, "utf8").trim()) });
  },
});
console.log(JSON.stringify({ listening: server.port }));
process.on("SIGTERM", () => {
  void server.stop(true);
  process.exit(0);
});

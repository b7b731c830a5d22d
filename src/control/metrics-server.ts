// `set metrics ADDRESS:PORT`: Prometheus scrapes GET /metrics over HTTP. node:http, so the
// same code runs on Bun and Deno.
import { createServer, type Server } from "node:http";
import type { Logger } from "../log/logger.ts";

const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export interface MetricsServer {
  readonly address: string;
  close(): Promise<void>;
}

function parseListenAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(":");
  return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
}

export async function startMetricsServer(address: string, render: () => string): Promise<MetricsServer> {
  const { host, port } = parseListenAddress(address);
  const server: Server = createServer((request, response) => {
    if (request.method !== "GET" || (request.url ?? "").split("?")[0] !== "/metrics") {
      response.writeHead(404, { "content-type": "text/plain" }).end("bng serves only GET /metrics\n");
      return;
    }
    try {
      response.writeHead(200, { "content-type": METRICS_CONTENT_TYPE }).end(render());
    } catch (error) {
      response.writeHead(500, { "content-type": "text/plain" }).end(`metrics failed: ${(error as Error).message}\n`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(new Error(`cannot serve metrics on ${address}: ${error.code === "EADDRINUSE" ? "the address is in use" : error.code === "EADDRNOTAVAIL" ? "no interface has that address" : error.message}`)),
    );
    server.listen(port, host, () => resolve());
  });
  return {
    address,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The /metrics listener as `set metrics` says at each (re)load: started, moved or stopped. */
export class MetricsEndpoint {
  private server: MetricsServer | undefined;

  constructor(
    private readonly render: () => string,
    private readonly logger: Logger,
  ) {}

  /** Serves on `address`, or nowhere when undefined; a listener on another address is stopped first. */
  async serve(address: string | undefined): Promise<void> {
    if (this.server?.address === address) return;
    if (this.server) {
      await this.server.close();
      this.logger.info("metrics-stopped", { address: this.server.address });
      this.server = undefined;
    }
    if (address === undefined) return;
    this.server = await startMetricsServer(address, this.render);
    this.logger.info("metrics-listening", { url: `http://${address}/metrics` });
  }

  async close(): Promise<void> {
    await this.server?.close();
  }
}

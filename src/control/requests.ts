// The control socket's requests, each to the part of the daemon that answers it: status and the
// `show` views, enable/disable, reload, metrics, clear, explain, stop. The daemon is passed in as the
// few things the requests need of it.
import { clearCounters, showRunning, type ConsoleView } from "./console-requests.ts";
import { explainClient, type ExplainView } from "./explain.ts";
import { renderMetrics, type MetricsView } from "./metrics.ts";
import { setServerEnabled, setTargetEnabled, type OperatorContext } from "./operator.ts";
import type { ControlReply, ControlRequest } from "./protocol.ts";
import { buildStatus, listNetworks, listSessions } from "./status-report.ts";

/** What the requests need of the running daemon. */
export interface RequestTarget extends MetricsView, Omit<ConsoleView, "shared">, Omit<ExplainView, "shared"> {
  /** What enable/disable change, as operator.ts takes it. */
  operatorContext(): OperatorContext;
  reload(file?: string): Promise<ControlReply>;
  stop(reason: string): Promise<void>;
}

export async function handleRequest(daemon: RequestTarget, request: ControlRequest): Promise<ControlReply> {
  switch (request.cmd) {
    case "status":
      return { ok: true, result: buildStatus(daemon) };
    case "show": {
      if (request.what === "servers") return { ok: true, result: buildStatus(daemon).servers };
      if (request.what === "targets") return { ok: true, result: buildStatus(daemon).targets };
      if (request.what === "networks") return { ok: true, result: listNetworks(daemon) };
      if (request.what === "parameters" || request.what === "config" || request.what === "vrrp") return showRunning(daemon, request.what);
      return { ok: true, result: listSessions(daemon, request) };
    }
    case "enable":
    case "disable": {
      const enabled = request.cmd === "enable";
      const context = daemon.operatorContext();
      return request.kind === "target" ? setTargetEnabled(context, request.id, enabled) : setServerEnabled(context, request.id, enabled);
    }
    case "reload":
      return daemon.reload(request.file);
    case "metrics":
      return { ok: true, result: renderMetrics(daemon) };
    case "clear":
      return clearCounters(daemon);
    case "explain":
      return explainClient(daemon, request);
    case "stop":
      setTimeout(() => void daemon.stop("stop requested over the control socket"), 10);
      return { ok: true, result: { message: `bng (pid ${process.pid}) is stopping` } };
  }
}

// The operator's `enable`/`disable` of servers and targets at run time: what changes, what is
// refused (what run and reload would refuse in a file), and the reply that says what it means.
import { counted } from "../config/index.ts";
import { ipToString, isActive, type Config, type ServerDef } from "../config/model.ts";
import type { SessionTable } from "../dataplane/sessions.ts";
import type { HealthMonitor } from "../health/monitor.ts";
import type { Logger } from "../log/logger.ts";
import { planRun, type RunPlan } from "./plan.ts";
import type { ControlReply } from "./protocol.ts";
import { networkSetupChanges } from "./reload-plan.ts";

/** What enabling and disabling touch of the running daemon. */
export interface OperatorContext {
  readonly config: Config;
  readonly plan: RunPlan;
  readonly logger: Logger;
  readonly healthMonitor: HealthMonitor;
  readonly sessions: SessionTable;
  /** Publishes a forwarding table built from the current state. */
  publish(): void;
  /** Announces a VIP that became answered. */
  announce(vip: number): void;
}

export function setServerEnabled(context: OperatorContext, id: number, enabled: boolean): ControlReply {
  const { config, logger } = context;
  const server = config.servers.find((candidate) => candidate.id === id && candidate.registered);
  if (!server) return { ok: false, error: `no server ${id} (servers: ${config.servers.map((s) => s.id).join(", ") || "none"})` };
  if (server.enabled === enabled) return { ok: true, result: { message: `server ${id} is already ${enabled ? "enabled" : "disabled"}` } };
  if (enabled) {
    const refusal = refusalOfEnabling(context, server);
    if (refusal) return refusal;
  }
  const vipAnsweredBefore = vipAnswered(config, server.ipaddr);
  server.enabled = enabled;
  context.publish();
  logger.info(enabled ? "server-enabled" : "server-disabled", { server: id, vip: ipToString(server.ipaddr), by: "operator" });
  if (enabled && !vipAnsweredBefore) context.announce(server.ipaddr);
  const still = !enabled && vipAnswered(config, server.ipaddr);
  return {
    ok: true,
    result: {
      message: enabled
        ? `server ${id} enabled: ${ipToString(server.ipaddr)}:${server.port} is answered`
        : `server ${id} disabled: ${ipToString(server.ipaddr)}${still ? " is still answered for another enabled server" : " is no longer answered"}`,
    },
  };
}

/** Why the running configuration with `server` enabled could not run as it does now, if it could not. */
function refusalOfEnabling(context: OperatorContext, server: ServerDef): ControlReply | undefined {
  const planned = planRun({ ...context.config, servers: context.config.servers.map((def) => (def === server ? { ...def, enabled: true } : def)) });
  const error = `server ${server.id} stays disabled`;
  if (!planned.ok) return { ok: false, error: `${error}: bng run would refuse the configuration with it enabled`, errors: planned.errors };
  const changes = networkSetupChanges(context.plan, planned.plan);
  if (changes.length > 0) return { ok: false, error: `${error}: ${changes.join("; ")}; that needs a restart of bng` };
  return undefined;
}

function vipAnswered(config: Config, vip: number): boolean {
  return config.servers.some((server) => isActive(server) && server.ipaddr === vip);
}

export function setTargetEnabled(context: OperatorContext, id: number, enabled: boolean): ControlReply {
  const { config, logger, healthMonitor: monitor } = context;
  const target = config.targets.find((candidate) => candidate.id === id && candidate.registered);
  if (!target) return { ok: false, error: `no target ${id} (targets: ${config.targets.map((t) => t.id).join(", ") || "none"})` };
  if (target.enabled === enabled) return { ok: true, result: { message: `target ${id} is already ${enabled ? "enabled" : "disabled"}` } };
  target.enabled = enabled;
  const before = monitor.state(id);
  monitor.setEnabled(id, enabled);
  context.publish();
  // A down target stays down either way (down wins over disabled): no state event is logged,
  // so the operator's action is, and the reply says what it means.
  if (before === "down" && monitor.state(id) === "down") {
    const verb = enabled ? "enabled" : "disabled";
    logger.info(enabled ? "target-enabled" : "target-disabled", { target: id, address: `${ipToString(target.ipaddr)}:${target.port}`, cause: `${verb} by operator while down` });
    return {
      ok: true,
      result: { message: `target ${id} ${verb}: it is down, ${enabled ? "and takes new sessions once it is up" : "has no sessions, and stays disabled when it comes back"}` },
    };
  }
  const sessions = context.sessions.sessionsOfTarget(id);
  return {
    ok: true,
    result: {
      message: enabled
        ? `target ${id} enabled: it takes new sessions once it is up`
        : `target ${id} disabled: no new sessions; its ${counted(sessions, "session")} drain until they expire`,
    },
  };
}

// Where a target's `dsrcheck` sends its SYNs: the VIP of every server that takes part
// (registered and enabled) and lists the target among its `targets` or `backup`, each VIP once.
// The daemon asks at every attempt, so `bng enable|disable server` and reloads apply at once.
import { type Config, isActive } from "../config/model.ts";

export function dsrVipsOf(config: Config, targetId: number): number[] {
  const vips: number[] = [];
  for (const server of config.servers) {
    if (!isActive(server) || vips.includes(server.ipaddr)) continue;
    if (server.targets.includes(targetId) || server.backup.includes(targetId)) vips.push(server.ipaddr);
  }
  return vips;
}

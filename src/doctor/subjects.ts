// What bng doctor examines in a configuration bng would run: every registered target of every
// registered and enabled server (primaries, then backups), the `real` address bng would speak
// to it from, and the gateway. Pure.
import { isActive, type Config, type ServerDef, type TargetDef } from "../config/model.ts";
import { realAddressFor, type RunPlan } from "../control/plan.ts";
import { virtualMac } from "../ha/vrrp-advert.ts";
import { formatMac } from "../dataplane/frame.ts";

export interface TargetSubject {
  target: TargetDef;
  /** Listed in the server's `backup`, not its `targets`. */
  backup: boolean;
  /** bng's address towards the target. */
  real: number;
  /** The port the DSR-path SYN goes to; undefined when the target cannot be checked with a SYN (`skip` says why). */
  synPort: number | undefined;
  skip: string | undefined;
}

export interface ServerSubject {
  server: ServerDef;
  targets: TargetSubject[];
}

export interface DoctorSubjects {
  ifname: string;
  /** Every `real` address the doctor sends from. */
  reals: number[];
  servers: ServerSubject[];
  gateway: { ipaddr: number; real: number } | undefined;
  /** MACs that are bng's own besides the interface's: the VRRP virtual MAC (a master answers ARP with it). */
  bngMacs: string[];
}

export function doctorSubjects(config: Config, plan: RunPlan): DoctorSubjects {
  const registered = new Map(config.targets.filter((target) => target.registered).map((target) => [target.id, target]));
  const reals = new Set<number>();
  const realOf = (ip: number): number => {
    // planRun refuses a configuration without a network that has a `real` address.
    const real = realAddressFor(plan, ip)!;
    reals.add(real);
    return real;
  };
  const servers = config.servers.filter(isActive).map((server): ServerSubject => {
    const listed = [...server.targets.map((id) => ({ id, backup: false })), ...server.backup.map((id) => ({ id, backup: true }))];
    const targets = listed.flatMap(({ id, backup }) => {
      const target = registered.get(id);
      return target ? [{ target, backup, real: realOf(target.ipaddr), ...synPortOf(server, target) }] : [];
    });
    return { server, targets };
  });
  const gateway = config.gateway && { ipaddr: config.gateway.ipaddr, real: realOf(config.gateway.ipaddr) };
  return { ifname: plan.ifname, reals: [...reals], servers, gateway, bngMacs: config.vrrp ? [formatMac(virtualMac(config.vrrp.vrid))] : [] };
}

/** The server's port; for an every-port server (port 0), the target's. */
function synPortOf(server: ServerDef, target: TargetDef): { synPort: number | undefined; skip: string | undefined } {
  if (server.protocol !== "tcp") return { synPort: undefined, skip: `server ${server.id} is UDP, and the doctor proves the DSR path with a TCP SYN` };
  const port = server.port || target.port;
  if (port === 0) return { synPort: undefined, skip: `server ${server.id} and target ${target.id} take every port: no port to send the SYN to` };
  return { synPort: port, skip: undefined };
}

// `set announce TABLE`: a /32 route for each VIP bng can serve, in a kernel routing table of its
// own, for a routing daemon (BIRD) to announce to the router over BGP. bng does not speak BGP: it
// only keeps this table true, adding a VIP's route while its server has a usable target and
// removing it when not, when the server is disabled, and at stop.
import { ipToString } from "../config/model.ts";
import { runIp } from "./ip-command.ts";

export class RouteAnnounceError extends Error {}

/** The routing tables iproute2 and the kernel keep for themselves (local, main, default): never bng's. */
export const RESERVED_TABLES: readonly number[] = [253, 254, 255];

export interface RouteAnnouncer {
  readonly table: number;
  /** The VIPs announced now. */
  readonly announced: ReadonlySet<number>;
  /**
   * Makes the table hold exactly `vips` (each as VIP/32 on the interface); `beforeAdding` runs
   * before a route is added, so it can be recorded first. Throws RouteAnnounceError naming the
   * command to run, after doing what it could.
   */
  set(vips: readonly number[], beforeAdding: (cidr: string) => void): void;
}

function ipRoute(args: string[]) {
  return runIp(["route", ...args], (message) => new RouteAnnounceError(message));
}

/** Removes `cidr` from `table` if it is there (also a killed bng's route). */
export function withdrawRoute(table: number, cidr: string, ifname: string): void {
  const shown = ipRoute(["show", "table", String(table), cidr]);
  if (shown.ok && shown.stdout.trim() === "") return;
  const removed = ipRoute(["del", cidr, "dev", ifname, "table", String(table)]);
  if (!removed.ok && !/No such process/i.test(removed.error)) {
    throw new RouteAnnounceError(`cannot withdraw ${cidr} from table ${table}: ${removed.error}; run: ip route del ${cidr} dev ${ifname} table ${table}`);
  }
}

export function routeAnnouncer(ifname: string, table: number): RouteAnnouncer {
  if (!Number.isInteger(table) || table < 1 || table > 0xffffffff || RESERVED_TABLES.includes(table)) {
    throw new RangeError(`routing table ${table}: bng announces in a table of its own, 1-4294967295 but 253-255`);
  }
  const announced = new Set<number>();
  return {
    table,
    announced,
    set(vips, beforeAdding) {
      const wanted = new Set(vips.map((vip) => vip >>> 0));
      const failures: string[] = [];
      for (const vip of [...announced]) {
        if (wanted.has(vip)) continue;
        try {
          withdrawRoute(table, `${ipToString(vip)}/32`, ifname);
          announced.delete(vip);
        } catch (error) {
          failures.push((error as Error).message);
        }
      }
      for (const vip of wanted) {
        if (announced.has(vip)) continue;
        const cidr = `${ipToString(vip)}/32`;
        beforeAdding(cidr);
        // proto static: a route of an administrator's, which BIRD's kernel protocol learns.
        const added = ipRoute(["replace", cidr, "dev", ifname, "proto", "static", "table", String(table)]);
        if (added.ok) announced.add(vip);
        else failures.push(`cannot announce ${cidr} in table ${table}: ${added.error}; run: ip route replace ${cidr} dev ${ifname} proto static table ${table}`);
      }
      if (failures.length > 0) throw new RouteAnnounceError(failures.join("; "));
    },
  };
}

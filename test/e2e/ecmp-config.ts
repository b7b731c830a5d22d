// The scale-out lab's configurations (ecmp-lab.ts): bng's on each node, and BIRD's, which are
// config/bird-node.conf and config/bird-router.conf as shipped but for their `define` values and
// the log going to stderr. Pure, so they are checked without namespaces.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO } from "../fixtures/process.ts";
import { ROUTER_ADDRESS, targetAddress, VIP } from "./lab.ts";

/** The seed's two targets, 172.16.1.100 and .101. */
export const TARGETS = 2;
/** `set announce` on every node. */
export const BNG_TABLE = 100;
const NODE_AS = 65001;
const ROUTER_AS = 65000;

/** Node i (1-based) is 172.16.1.250 + i. */
export function nodeAddress(i: number): string {
  return `172.16.1.${250 + i}`;
}

/**
 * bng's configuration on node `i`: the seed's network and its two targets, `set announce`,
 * maglev (every node picks the same target for a client) and checks every second, down after 2 s.
 */
export function nodeBngConfig(i: number): string {
  const target = (n: number) => `target ${n} {\n  ipaddr ${targetAddress(n)}\n  port 80\n  protocol tcp\n  tcpopen 80,1,2\n  dsr enable\n}\n`;
  return `set announce ${BNG_TABLE}
interface eth0
network 1 {
  name "local network"
  addr 172.16.1.0
  mask 255.255.255.0
  real ${nodeAddress(i)}
  interface eth0
}
register network 1
enable network 1
server 1 {
  ipaddr ${VIP}
  port 80
  protocol tcp
  method maglev
  targets 1,2
}
register server 1
enable server 1
${target(1)}${target(2)}register targets 1,2
enable targets 1,2
`;
}

/**
 * A shipped BIRD configuration (config/FILE) with its `define NAME = …;` values replaced and the
 * log sent to stderr; throws when the file lacks one of them, so the lab never runs a file the
 * operators do not get.
 */
export function shippedBirdConfig(file: string, defines: Record<string, string | number>): string {
  let text = readFileSync(join(REPO, "config", file), "utf8");
  const replace = (pattern: RegExp, replacement: string, what: string) => {
    if (!pattern.test(text)) throw new Error(`config/${file} has no ${what}`);
    text = text.replace(pattern, replacement);
  };
  for (const [name, value] of Object.entries(defines)) replace(new RegExp(`^define ${name} = [^;]*;`, "m"), `define ${name} = ${value};`, `define ${name}`);
  replace(/^log syslog all;/m, "log stderr all;", "log line");
  return text;
}

export function birdNodeConfig(i: number): string {
  return shippedBirdConfig("bird-node.conf", { NODE_ADDRESS: nodeAddress(i), NODE_AS, ROUTER_ADDRESS, ROUTER_AS, BNG_TABLE });
}

export function birdRouterConfig(): string {
  return shippedBirdConfig("bird-router.conf", { ROUTER_ADDRESS, ROUTER_AS, NODE_AS });
}

/** The next hops of `ip -j route show PREFIX` (one route, single or multipath), none without one. */
export function parseRouteNexthops(json: string): string[] {
  const routes = JSON.parse(json) as { gateway?: string; nexthops?: { gateway: string }[] }[];
  return routes.flatMap((route) => (route.nexthops ? route.nexthops.map((hop) => hop.gateway) : route.gateway ? [route.gateway] : [])).sort();
}

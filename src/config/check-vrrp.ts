// The `vrrp` block against the rest of the file: its network must take part and have bng's
// own address (adverts go out from it), and the sync peer must be another host on it.
import type { DiagnosticSink } from "./errors.ts";
import { cidr, inactiveReason, ipToString, isActive, networkContains, nonHostAddress, type Config, type VrrpDef } from "./model.ts";
import type { BlockLocation } from "./parser.ts";

export function checkVrrp(config: Config, vrrp: VrrpDef, location: BlockLocation | undefined, sink: DiagnosticSink, networkDefined: (id: number) => boolean): void {
  const at = (param: string, message: string): void => {
    const where = location?.params.get(param)?.[0] ?? vrrp.pos;
    sink.error(where.line, where.column, message);
  };
  const network = config.networks.find((candidate) => candidate.id === vrrp.networkId);
  if (network === undefined) {
    if (!networkDefined(vrrp.networkId)) at("network", `vrrp runs on network ${vrrp.networkId}, which is not defined: expected a \`network ${vrrp.networkId} { ... }\` block`);
    return;
  }
  if (!isActive(network)) {
    at("network", `vrrp runs on network ${network.id}, which is ${inactiveReason("network", network.id, network)}`);
  }
  if (network.real === undefined) {
    at("network", `vrrp runs on network ${network.id}, which has no \`real\` address: VRRP adverts go out from bng's own address there; expected \`real ADDRESS\` in network ${network.id}`);
  }
  const peer = vrrp.sync;
  if (peer === undefined) return;
  const shown = ipToString(peer);
  if (!networkContains(network, peer)) {
    at("sync", `\`sync ${shown}\` is outside network ${network.id} (${cidr(network)}), where vrrp runs: expected the peer's \`real\` address on that network`);
    return;
  }
  const which = nonHostAddress(network, peer);
  if (which !== undefined) at("sync", `\`sync ${shown}\` is ${which} of network ${network.id} (${cidr(network)}): expected the peer's \`real\` address, a host address`);
  if (network.real === peer) at("sync", `\`sync ${shown}\` is this node's own \`real\` address on network ${network.id}: expected the peer's \`real\` address`);
  const server = config.servers.find((candidate) => candidate.ipaddr === peer);
  if (server) at("sync", `\`sync ${shown}\` is the VIP of server ${server.id}: expected the peer's own \`real\` address, not a shared one`);
}

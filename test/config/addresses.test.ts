// Addresses that are valid one by one but collide on a real network: a VIP on a target's or on
// bng's own address, a target on bng's own address, a VIP on its network's network or broadcast
// address, a /0 network, a DSR target outside every network. The fixtures in broken/ pin each
// message; these tests pin where each check stops, so that good files keep loading.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { parseConfig } from "../../src/config/index.ts";

const SEED = readFileSync("config/dsr-example.conf", "utf8");

function diagnosticsOf(text: string): string[] {
  const result = parseConfig(text, "addresses.conf");
  return [...(result.ok ? [] : result.errors), ...result.warnings].map((d) => `${d.severity} ${d.line}:${d.column} ${d.message}`);
}

/** The seed with server 1's VIP replaced, and `extra` appended. */
function withVip(vip: string, extra = ""): string {
  return `${SEED.replace("ipaddr 172.16.1.10\n", `ipaddr ${vip}\n`)}${extra}`;
}

const lineOf = (text: string, line: string): number => text.split("\n").indexOf(line) + 1;

describe("VIPs and targets do not take an address that is in use", () => {
  test("the shipped configurations have none of these diagnostics", () => {
    expect(diagnosticsOf(SEED)).toEqual([]);
  });

  test("a VIP on the address of a target that no server uses is still an error: a host has that address", () => {
    const text = withVip("172.16.1.77", "target 3 {\nipaddr 172.16.1.77\ndsr enable\n}\n");
    expect(diagnosticsOf(text)).toEqual([
      `error ${lineOf(text, "ipaddr 172.16.1.77")}:8 server 1 address 172.16.1.77 is also the address of target 3 (line ${lineOf(text, "target 3 {")}): bng announces a VIP with gratuitous ARPs and would take the address over from that real server; expected a VIP that no host uses`,
    ]);
  });

  test("every network's `real` is compared, not only the VIP's or the target's own network", () => {
    const network2 = "network 2 {\naddr 10.1.1.0\nmask 255.255.255.0\nreal 10.1.1.253\ninterface eth0\n}\nregister network 2\nenable network 2\n";
    // A /16 holding network 2 lets the VIP stay inside a network while it equals network 2's real.
    const wide = "network 3 {\naddr 10.1.0.0\nmask 255.255.0.0\ninterface eth0\n}\n";
    const text = withVip("10.1.1.253", `${network2}${wide}`).replace("ipaddr 172.16.1.100\n", "ipaddr 10.1.1.253\n");
    const realLine = lineOf(text, "real 10.1.1.253");
    expect(diagnosticsOf(text)).toEqual([
      `error ${lineOf(text, "ipaddr 10.1.1.253")}:8 server 1 address 10.1.1.253 is also the address of target 1 (line ${lineOf(text, "target 1 {")}): bng announces a VIP with gratuitous ARPs and would take the address over from that real server; expected a VIP that no host uses`,
      `error ${lineOf(text, "ipaddr 10.1.1.253")}:8 server 1 address 10.1.1.253 is the \`real\` address of network 2 (line ${realLine}), bng's own address for ARP requests and health checks: expected a VIP other than every network's \`real\``,
      `error ${text.split("\n").lastIndexOf("ipaddr 10.1.1.253") + 1}:8 target 1 address 10.1.1.253 is the \`real\` address of network 2 (line ${realLine}), bng's own address: bng cannot resolve a MAC for it, so the target would receive nothing; expected the target's own address, and a \`real\` that no other host uses`,
    ]);
  });
});

describe("a VIP is a host address of its network", () => {
  test("the first and last host addresses load", () => {
    expect(diagnosticsOf(withVip("172.16.1.1"))).toEqual([]);
    expect(diagnosticsOf(withVip("172.16.1.254"))).toEqual([]);
  });

  test("a /31 or a /32 has no network or broadcast address: each of its addresses is a host's", () => {
    const point = (addr: string, mask: string, real: string) => `network 2 {\naddr ${addr}\nmask ${mask}\nreal ${real}\ninterface eth0\n}\nregister network 2\nenable network 2\n`;
    expect(diagnosticsOf(withVip("10.0.0.0", point("10.0.0.0", "255.255.255.254", "10.0.0.1")))).toEqual([]);
    expect(diagnosticsOf(withVip("10.0.0.1", point("10.0.0.0", "255.255.255.254", "10.0.0.0")))).toEqual([]);
    expect(diagnosticsOf(withVip("10.0.0.9", "network 2 {\naddr 10.0.0.9\nmask 255.255.255.255\ninterface eth0\n}\nregister network 2\nenable network 2\n"))).toEqual([]);
  });

  test("the VIP's network is the most specific one that takes part", () => {
    // 172.16.1.0 is network 1's network address, but a host address in the wider network 9.
    const wide = "network 9 {\naddr 172.16.0.0\nmask 255.255.0.0\nreal 172.16.0.252\ninterface eth0\n}\nregister network 9\nenable network 9\n";
    expect(diagnosticsOf(withVip("172.16.1.0", `${wide}disable network 1\n`))).toEqual([]);
    const text = withVip("172.16.1.0", wide);
    expect(diagnosticsOf(text)).toEqual([
      `error ${lineOf(text, "ipaddr 172.16.1.0")}:8 server 1 address 172.16.1.0 is the network address of network 1 (172.16.1.0/24), not a host address: bng would announce it with gratuitous ARPs; expected a VIP from 172.16.1.1 to 172.16.1.254`,
    ]);
    // 172.16.255.255 lies only in network 9, and is its broadcast address.
    const broadcast = withVip("172.16.255.255", wide);
    expect(diagnosticsOf(broadcast)).toEqual([
      `error ${lineOf(broadcast, "ipaddr 172.16.255.255")}:8 server 1 address 172.16.255.255 is the broadcast address of network 9 (172.16.0.0/16), not a host address: bng would announce it with gratuitous ARPs; expected a VIP from 172.16.0.1 to 172.16.255.254`,
    ]);
  });

  test("a network as wide as /1 loads; only /0, which holds every address, is an error", () => {
    const half = SEED.replace("addr 172.16.1.0\nmask 255.255.255.0", "addr 128.0.0.0\nmask 128.0.0.0");
    expect(diagnosticsOf(half)).toEqual([]);
  });
});

describe("a DSR target outside every network is a warning at its ipaddr", () => {
  const outside = SEED.replace("ipaddr 172.16.1.101", "ipaddr 192.168.7.101");

  test("a DSR target of a server: warned once, even when several servers list it", () => {
    const second = "server 2 {\nipaddr 172.16.1.11\nport 80\nprotocol tcp\ntargets 2\n}\n";
    const text = `${outside}${second}`;
    const result = parseConfig(text, "addresses.conf");
    expect(result.ok).toBe(true);
    expect(diagnosticsOf(text)).toEqual([
      `warning ${lineOf(text, "ipaddr 192.168.7.101")}:8 target 2 of server 1 is a DSR target at 192.168.7.101, outside every network (172.16.1.0/24): single-legged DSR reaches a target at layer 2, from bng's \`real\` address on the target's network, ` +
        "so expected an address inside a configured network (`bng run` refuses a DSR target outside the networks it runs on)",
    ]);
  });

  test("not for a target no server uses, nor for a NAT target (warned about as NAT), nor when no network is configured at all", () => {
    expect(diagnosticsOf(outside.replace("targets 1,2\n", "targets 1\n"))).toEqual([]);
    const nat = outside.replace("tcpopen 80,3,10\ndsr enable\n}\nregister", "tcpopen 80,3,10\n}\nregister");
    expect(diagnosticsOf(nat)).toEqual([
      `warning ${lineOf(nat, "target 2 {")}:1 target 2 of server 1 has no \`dsr enable\`, so it is a NAT target: NAT/routing mode is not supported yet; this config parses but \`bng run\` will refuse it`,
    ]);
    const noNetwork = outside.replace(/network 1 \{[^}]*\}\nregister network 1\nenable network 1\n/, "");
    expect(noNetwork).not.toContain("network 1");
    expect(diagnosticsOf(noNetwork)).toEqual([
      `error ${lineOf(noNetwork, "ipaddr 172.16.1.10")}:8 server 1 address 172.16.1.10 is outside every network (none is configured): expected a VIP inside a configured network, where bng can answer ARP for it`,
    ]);
  });
});

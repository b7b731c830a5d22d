// planRun: what `bng run` refuses in a valid configuration, and the plan it makes of the seed's.
import { describe, expect, test } from "bun:test";
import { parseConfig } from "../../src/config/index.ts";
import { LANGUAGE_FEATURES, planRun } from "../../src/control/plan.ts";
import { networkSetupChanges } from "../../src/control/reload-plan.ts";
import { SEED_CONFIG_TEXT } from "./daemon-harness.ts";

function plan(text: string) {
  const parsed = parseConfig(text, "plan.conf");
  if (!parsed.ok) throw new Error(`not a valid configuration: ${JSON.stringify(parsed.errors)}`);
  return planRun(parsed.config);
}

function errorsOf(text: string): string[] {
  const planned = plan(text);
  if (planned.ok) throw new Error("planRun accepted it");
  return planned.errors;
}

/** The seed's file with the block-form interface 1 instead of `interface eth0`. */
const BLOCK_INTERFACE_TEXT = SEED_CONFIG_TEXT.replace("interface eth0\nnetwork 1", "interface 1 { name eth0 access raw }\nregister interface 1\nenable interface 1\nnetwork 1").replace(
  "real 172.16.1.252\ninterface eth0",
  "real 172.16.1.252\ninterface 1",
);

describe("planRun", () => {
  test("the seed's file: eth0, network 1 with bng's own address 172.16.1.252/24", () => {
    const planned = plan(SEED_CONFIG_TEXT);
    expect(planned.ok).toBe(true);
    if (!planned.ok) return;
    expect(planned.plan.ifname).toBe("eth0");
    expect(planned.plan.networks.map(({ network, real, prefixLength }) => [network.id, real, prefixLength])).toEqual([[1, 0xac1001fc, 24]]);
  });

  test("set announce: the plan carries the table bng keeps its routes in; a reload that changes it needs a restart", () => {
    const announcing = plan(`set announce 100\n${SEED_CONFIG_TEXT}`);
    const seed = plan(SEED_CONFIG_TEXT);
    if (!announcing.ok || !seed.ok) throw new Error("planRun refused set announce");
    expect(announcing.plan.announceTable).toBe(100);
    expect(seed.plan.announceTable).toBeUndefined();
    expect(networkSetupChanges(announcing.plan, announcing.plan)).toEqual([]);
    expect(networkSetupChanges(seed.plan, announcing.plan)).toEqual(["set announce changed from off to table 100"]);
    expect(networkSetupChanges(announcing.plan, { ...announcing.plan, announceTable: 200 })).toEqual(["set announce changed from table 100 to table 200"]);
  });

  test("the block-form interface, registered and enabled, runs the same", () => {
    expect(BLOCK_INTERFACE_TEXT).toContain("interface 1 { name eth0");
    const planned = plan(BLOCK_INTERFACE_TEXT);
    expect(planned.ok && planned.plan.ifname).toBe("eth0");
  });

  test("a network that is not registered and enabled is not used: its servers cannot run, and the missing lines are named", () => {
    expect(errorsOf(SEED_CONFIG_TEXT.replace("register network 1\n", ""))).toEqual([
      "network 1 holds the VIP of server 1 (172.16.1.10) but is not registered: add 'register network 1'",
    ]);
    expect(errorsOf(`${SEED_CONFIG_TEXT}disable network 1\n`)).toEqual(["network 1 holds the VIP of server 1 (172.16.1.10) but is disabled: add 'enable network 1'"]);
    expect(errorsOf(SEED_CONFIG_TEXT.replace("register network 1\nenable network 1\n", ""))).toEqual([
      "network 1 holds the VIP of server 1 (172.16.1.10) but is neither registered nor enabled: add 'register network 1' and 'enable network 1'",
    ]);
    const secondServer = "server 2 {\nipaddr 172.16.1.11\nport 80\nprotocol tcp\ntargets 1,2\n}\nregister server 2\nenable server 2\n";
    expect(errorsOf(`${SEED_CONFIG_TEXT}${secondServer}disable network 1\n`)).toEqual([
      "network 1 holds the VIP of server 1 (172.16.1.10), server 2 (172.16.1.11) but is disabled: add 'enable network 1'",
    ]);
  });

  test("of networks that overlap, the VIP's is the most specific one that takes part, wherever it stands in the file", () => {
    const wide = "network 9 {\naddr 172.16.0.0\nmask 255.255.0.0\nreal 172.16.0.252\ninterface eth0\n}\n";
    for (const text of [SEED_CONFIG_TEXT.replace("network 1 {", `${wide}network 1 {`), `${SEED_CONFIG_TEXT}${wide}`]) {
      const inactiveWide = plan(text);
      expect(inactiveWide.ok && inactiveWide.plan.networks.map((n) => n.network.id)).toEqual([1]);
      const bothActive = plan(`${text}register network 9\nenable network 9\n`);
      expect(bothActive.ok && bothActive.plan.networks.map((n) => n.network.id)).toEqual([1]);
    }
    const onlyWide = plan(`${SEED_CONFIG_TEXT}${wide}register network 9\nenable network 9\ndisable network 1\n`);
    expect(onlyWide.ok && onlyWide.plan.networks.map((n) => [n.network.id, n.real])).toEqual([[9, 0xac1000fc]]);
  });

  test("a block-form interface that is not registered and enabled is not used, whether the network names it by number or by name", () => {
    for (const text of [BLOCK_INTERFACE_TEXT, BLOCK_INTERFACE_TEXT.replace("real 172.16.1.252\ninterface 1", "real 172.16.1.252\ninterface eth0")]) {
      expect(plan(text).ok).toBe(true);
      expect(errorsOf(text.replace("register interface 1\n", ""))).toEqual([
        "network 1 is on interface 1 (eth0), which is not registered: add 'register interface 1'",
      ]);
      expect(errorsOf(text.replace("enable interface 1\n", ""))).toEqual(["network 1 is on interface 1 (eth0), which is disabled: add 'enable interface 1'"]);
    }
  });

  test("what DSR on one interface cannot do is refused, every reason at once", () => {
    expect(errorsOf(SEED_CONFIG_TEXT.replace("enable server 1\n", ""))).toEqual(["no server is registered and enabled: nothing to balance"]);
    const errors = errorsOf(`set ipforwarding 1\n${SEED_CONFIG_TEXT.replace("tcpopen 80,3,10\ndsr enable\n}\ntarget 2", "tcpopen 80,3,10\n}\ntarget 2").replace("real 172.16.1.252\n", "")}`);
    expect(errors).toEqual([
      "target 1 (172.16.1.100) of server 1 is not a DSR target: NAT/routing mode is not supported yet; add 'dsr enable' to target 1",
      "network 1 has no 'real' address: bng needs its own address there to resolve target MACs and run health checks",
      "'set ipforwarding 1' asks for routing mode, which bng does not support yet: remove it for DSR",
    ]);
  });

  test("a DSR target must lie in a network bng runs on (a VIP's network), where it can be reached at layer 2", () => {
    const refusal = (target: number, ip: string, servers: string, networks = "172.16.1.0/24") =>
      `target ${target} (${ip}) of ${servers} is a DSR target outside the networks bng runs on (${networks}, the networks of the enabled servers' VIPs): ` +
      `single-legged DSR reaches a target at layer 2 from the network's 'real' address; give target ${target} an address inside one of them`;
    // Outside every network.
    expect(errorsOf(SEED_CONFIG_TEXT.replace("ipaddr 172.16.1.101", "ipaddr 192.168.7.101"))).toEqual([refusal(2, "192.168.7.101", "server 1")]);
    // Inside a network that takes part but holds no VIP: bng does not run on it, so it has no address there to ARP from.
    const targetNetwork = "network 2 {\naddr 10.1.1.0\nmask 255.255.255.0\nreal 10.1.1.253\ninterface eth0\n}\nregister network 2\nenable network 2\n";
    expect(errorsOf(`${SEED_CONFIG_TEXT.replace("ipaddr 172.16.1.100", "ipaddr 10.1.1.1")}${targetNetwork}`)).toEqual([refusal(1, "10.1.1.1", "server 1")]);
    // A backup counts, and a target of several servers is named once, with each of them.
    const backup = "target 3 {\nipaddr 10.1.1.3\ndsr enable\n}\nregister target 3\nenable target 3\n";
    const secondServer = "server 2 {\nipaddr 172.16.1.11\nport 80\nprotocol tcp\ntargets 3\n}\nregister server 2\nenable server 2\n";
    expect(errorsOf(`${SEED_CONFIG_TEXT.replace("targets 1,2\n", "targets 1,2\nbackup 3\n")}${backup}${secondServer}`)).toEqual([refusal(3, "10.1.1.3", "server 1, server 2")]);
    // Once the VIP's network is not used, the refusal says that instead.
    expect(errorsOf(`${SEED_CONFIG_TEXT.replace("ipaddr 172.16.1.101", "ipaddr 192.168.7.101")}disable network 1\n`)).toEqual([
      "network 1 holds the VIP of server 1 (172.16.1.10) but is disabled: add 'enable network 1'",
    ]);
  });

  test("only DSR targets of servers that take part are held to it; a NAT target is refused as such", () => {
    const outside = SEED_CONFIG_TEXT.replace("ipaddr 172.16.1.101", "ipaddr 192.168.7.101");
    const secondServer = "server 2 {\nipaddr 172.16.1.11\nport 80\nprotocol tcp\ntargets 1\n}\nregister server 2\nenable server 2\n";
    // Server 1, the one that lists target 2, is disabled: only server 2 runs.
    expect(plan(`${outside}${secondServer}disable server 1\n`).ok).toBe(true);
    expect(errorsOf(outside.replace("tcpopen 80,3,10\ndsr enable\n}\nregister", "tcpopen 80,3,10\n}\nregister"))).toEqual([
      "target 2 (192.168.7.101) of server 1 is not a DSR target: NAT/routing mode is not supported yet; add 'dsr enable' to target 2",
    ]);
  });

  test("an unregistered target takes no part, so neither its address nor its mode is refused", () => {
    const outside = SEED_CONFIG_TEXT.replace("ipaddr 172.16.1.101", "ipaddr 192.168.7.101");
    expect(plan(outside).ok).toBe(false);
    const unregistered = outside.replace("register targets 1,2", "register targets 1");
    expect(plan(unregistered).ok).toBe(true);
    const nat = SEED_CONFIG_TEXT.replace(/dsr enable\n\}\nregister targets/, "}\nregister targets");
    expect(errorsOf(nat)).toEqual(["target 2 (172.16.1.101) of server 1 is not a DSR target: NAT/routing mode is not supported yet; add 'dsr enable' to target 2"]);
    expect(plan(nat.replace("register targets 1,2", "register targets 1")).ok).toBe(true);
  });

  test("servers on two interfaces, or a network with no interface among several, are refused", () => {
    const secondNetwork = `network 2 {\naddr 10.0.0.0\nmask 255.255.255.0\nreal 10.0.0.2\ninterface eth1\n}\nregister network 2\nenable network 2\nserver 2 {\nipaddr 10.0.0.10\nport 80\nprotocol tcp\ntargets 3\n}\nregister server 2\nenable server 2\ntarget 3 {\nipaddr 10.0.0.100\nport 80\nprotocol tcp\ndsr enable\n}\nregister target 3\nenable target 3\n`;
    expect(errorsOf(`interface eth1\n${SEED_CONFIG_TEXT}${secondNetwork}`)).toEqual(["the enabled servers use several interfaces (eth0, eth1): bng runs single-legged DSR on one interface"]);
    const twoInterfaces = `interface eth1\n${SEED_CONFIG_TEXT.replace("real 172.16.1.252\ninterface eth0\n", "real 172.16.1.252\n")}`;
    expect(errorsOf(twoInterfaces)).toEqual(["network 1 names no interface and the configuration has 2 interfaces: add 'interface NAME' to network 1"]);
  });
});

describe("bng check announces these refusals as warnings, at the line to look at", () => {
  function warningsOf(text: string): string[] {
    const parsed = parseConfig(text, "plan.conf");
    if (!parsed.ok) throw new Error(`not a valid configuration: ${JSON.stringify(parsed.errors)}`);
    return parsed.warnings.map((warning) => `${warning.line}:${warning.column} ${warning.message}`);
  }

  test("a VIP in a network that does not take part: at the server's ipaddr", () => {
    expect(warningsOf(SEED_CONFIG_TEXT)).toEqual([]);
    const disabled = `${SEED_CONFIG_TEXT}disable network 1\n`;
    const ipaddrLine = disabled.split("\n").indexOf("ipaddr 172.16.1.10") + 1;
    expect(warningsOf(disabled)).toEqual([
      `${ipaddrLine}:8 server 1's VIP 172.16.1.10 is in network 1, which is disabled: add 'enable network 1', or \`bng run\` will refuse this file`,
    ]);
    expect(plan(disabled).ok).toBe(false);
  });

  test("a DSR target outside every network: at the target's ipaddr", () => {
    const text = SEED_CONFIG_TEXT.replace("ipaddr 172.16.1.101", "ipaddr 192.168.7.101");
    const ipaddrLine = text.split("\n").indexOf("ipaddr 192.168.7.101") + 1;
    expect(warningsOf(text)).toEqual([
      `${ipaddrLine}:8 target 2 of server 1 is a DSR target at 192.168.7.101, outside every network (172.16.1.0/24): single-legged DSR reaches a target at layer 2, from bng's \`real\` address on the target's network, ` +
        "so expected an address inside a configured network (`bng run` refuses a DSR target outside the networks it runs on)",
    ]);
    expect(plan(text).ok).toBe(false);
  });

  test("a network on a block-form interface that does not take part: at the network's interface line", () => {
    const text = BLOCK_INTERFACE_TEXT.replace("enable interface 1\n", "");
    const interfaceLine = text.split("\n").indexOf("interface 1") + 1;
    expect(warningsOf(text)).toEqual([
      `${interfaceLine}:11 network 1 is on interface 1 (eth0), which is disabled: add 'enable interface 1', or \`bng run\` will refuse this file`,
    ]);
    expect(plan(text).ok).toBe(false);
  });
});

describe("features of the language bng does not run yet", () => {
  const target1 = (line: string) => SEED_CONFIG_TEXT.replace("tcpopen 80,3,10\ndsr enable", `tcpopen 80,3,10\n${line}\ndsr enable`);
  const server1 = (line: string) => SEED_CONFIG_TEXT.replace("targets 1,2\n}", `targets 1,2\n${line}\n}`);

  test("none today: every keyword of the table is implemented", () => {
    expect(LANGUAGE_FEATURES.filter((feature) => !feature.implemented).map((feature) => feature.keyword)).toEqual([]);
  });

  test("`bng run` refuses a configuration that uses one, naming it and where it is used; implemented, it runs", () => {
    const feature = LANGUAGE_FEATURES.find((candidate) => candidate.keyword === "method agent")!;
    feature.implemented = false;
    try {
      expect(errorsOf(server1("method agent"))).toEqual(["server 1 uses 'method agent', which bng does not implement yet: remove it to run"]);
    } finally {
      feature.implemented = true;
    }
    expect(plan(server1("method agent")).ok).toBe(true);
  });

  test("what bng does today is not refused: defaults, and the values that mean today's behaviour", () => {
    const checks = ["arp 3,10", "agent 439,3,10", 'script "/usr/local/bin/check",3,10', 'http "/healthz",80,3,10', "dsrcheck 80,3,10", 'alert "/usr/local/bin/alert"'].map(target1);
    const serverLines = ["downpolicy reschedule", "downpolicy hold", "downpolicy reset", "method agent", "method bandwidth"].map(server1);
    const settings = ["set syslog disable\nset io ring", "set io xdp", "set io auto", "set syslog enable"].map((lines) => `${lines}\n${SEED_CONFIG_TEXT}`);
    for (const text of [SEED_CONFIG_TEXT, ...serverLines, ...settings, ...checks]) expect(plan(text).ok).toBe(true);
  });
});

import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { formatDiagnostic, loadConfigFile, parseConfig, printConfig, summarizeConfig } from "../../src/config/index.ts";
import { DEFAULT_SETTINGS, ipToString, type Config } from "../../src/config/model.ts";

function load(path: string): { config: Config; warnings: string[] } {
  const result = loadConfigFile(path);
  if (!result.ok) throw new Error(result.errors.map((d) => formatDiagnostic(d, readFileSync(path, "utf8"))).join("\n"));
  return { config: result.config, warnings: result.warnings.map((d) => `${d.line}:${d.column} ${d.message}`) };
}

const ip = (text: string): number => text.split(".").reduce((value, octet) => value * 256 + Number(octet), 0);

describe("the seed's DSR example", () => {
  const { config, warnings } = load("config/dsr-example.conf");

  test("loads without warnings into the exact model", () => {
    expect(warnings).toEqual([]);
    expect(config.file).toBe("config/dsr-example.conf");
    expect(config.modules).toEqual([]);
    expect(config.settings).toEqual(DEFAULT_SETTINGS);
    expect(config.explicitSettings).toEqual([]);
    expect(config.gateway).toBeUndefined();
    expect(config.vrrp).toBeUndefined();
    expect(config.unimplemented).toEqual([]);
    expect(config.interfaces).toEqual([
      { id: undefined, name: "eth0", access: undefined, unimplemented: [], registered: true, enabled: true, pos: { file: "config/dsr-example.conf", line: 3, column: 1 } },
    ]);
    expect(config.networks).toEqual([
      {
        id: 1,
        name: "local network",
        addr: ip("172.16.1.0"),
        mask: ip("255.255.255.0"),
        real: ip("172.16.1.252"),
        virt: undefined,
        nat: undefined,
        interfaceRef: "eth0",
        unimplemented: [],
        registered: true,
        enabled: true,
        pos: { file: "config/dsr-example.conf", line: 4, column: 1 },
      },
    ]);
    expect(config.servers).toEqual([
      {
        id: 1,
        name: undefined,
        ipaddr: ip("172.16.1.10"),
        port: 80,
        protocol: "tcp",
        targets: [1, 2],
        backup: [],
        method: "rr",
        sessionTimeoutS: 600,
        persistence: "client",
        downPolicy: "reschedule",
        unimplemented: [],
        registered: true,
        enabled: true,
        pos: { file: "config/dsr-example.conf", line: 13, column: 1 },
      },
    ]);
    expect(config.targets.map((target) => ({ ...target, ipaddr: ipToString(target.ipaddr) }))).toEqual([1, 2].map((id) => {
      const line = id === 1 ? 21 : 28;
      return {
        id,
        name: undefined,
        ipaddr: `172.16.1.${99 + id}`,
        port: 80,
        protocol: "tcp" as const,
        tcpopen: [{ port: 80, intervalS: 3, timeoutS: 10, pos: { file: "config/dsr-example.conf", line: line + 4, column: 9 } }],
        ping: undefined,
        arp: undefined,
        agent: undefined,
        script: undefined,
        http: undefined,
        dsrcheck: [],
        dsr: true,
        weight: 1,
        alert: undefined,
        unimplemented: [],
        registered: true,
        enabled: true,
        pos: { file: "config/dsr-example.conf", line, column: 1 },
      };
    }));
  });

  test("summarizes as one line", () => {
    expect(summarizeConfig(config)).toBe("1 interface, 1 network, 1 server, 2 targets, DSR");
  });

  test("prints back as the seed itself, but for the header", () => {
    const seed = readFileSync("config/dsr-example.conf", "utf8").split("\n");
    const printed = printConfig(config, new Date(2007, 8, 28, 21, 38, 37)).split("\n");
    expect(printed[0]).toBe("// configuration taken Fri Sep 28 21:38:37 2007");
    expect(printed[1]).toMatch(/^\/\/ bng \d+\.\d+\.\d+$/);
    expect(printed.slice(2)).toEqual(seed.slice(2));
  });
});

describe("the routing-mode example of balanceng.md 2.2", () => {
  const { config, warnings } = load("config/routing-example.conf");

  test("parses, with a warning for each part that needs NAT/routing mode", () => {
    expect(warnings).toEqual([
      expect.stringMatching(/^4:18 `set ipforwarding 1` asks for routing mode: NAT\/routing mode is not supported yet; this config parses but `bng run` will refuse it$/),
      expect.stringMatching(/^9:37 network 1 uses `virt` and `nat outside`, which only NAT\/routing mode needs/),
      expect.stringMatching(/^11:37 network 2 uses `virt` and `nat inside`/),
      expect.stringMatching(/^18:1 target 1 of server 1 has no `dsr enable`.*`bng run` will refuse it$/),
      expect.stringMatching(/^19:1 target 2 of server 1 has no `dsr enable`/),
    ]);
  });

  test("keeps every routing-mode value", () => {
    expect(config.modules).toEqual(["vrrp", "arp", "ping", "hc", "master", "slb", "tnat", "nat", "rt"]);
    expect(config.settings.ipforwarding).toBe(1);
    expect(config.interfaces).toMatchObject([{ id: 1, name: "eth0", access: "raw", registered: true, enabled: true }]);
    expect(config.networks.map((n) => [n.id, ipToString(n.virt!), n.nat, n.interfaceRef, n.registered, n.enabled])).toEqual([
      [1, "172.16.1.253", "outside", "1", true, true],
      [2, "10.1.1.254", "inside", "1", true, true],
    ]);
    expect(config.gateway).toMatchObject({ ipaddr: ip("172.16.1.254"), ping: { intervalS: 3, timeoutS: 8 } });
    expect(config.targets.map((t) => [t.dsr, t.tcpopen.map((c) => c.intervalS)])).toEqual([[false, [3]], [false, [2]]]);
    expect(summarizeConfig(config)).toBe("1 interface, 2 networks, 1 gateway, 1 server, 2 targets, NAT");
  });
});

describe("the annotated example", () => {
  const { config, warnings } = load("config/annotated.conf");

  test("loads without warnings", () => {
    expect(warnings).toEqual([]);
  });

  test("uses every setting, method-related parameter and lifecycle verb", () => {
    expect(config.modules).toEqual(["arp", "ping", "hc", "slb", "master"]);
    expect(config.explicitSettings.toSorted()).toEqual(Object.keys(DEFAULT_SETTINGS).toSorted() as (keyof typeof DEFAULT_SETTINGS)[]);
    expect(config.settings).toEqual({
      ipforwarding: 0,
      workers: 2,
      sessionCapacity: 262144,
      maglevSize: 65537,
      arpRefreshS: 30,
      metrics: "127.0.0.1:9100",
      io: "mmsg",
      announceTable: 100,
      syslog: false,
      newSessionsPerS: 50000,
      finTimeoutS: 10,
    });
    expect(config.vrrp).toMatchObject({ vrid: 1, priority: 200, networkId: 1, intervalS: 1, preempt: true, sync: ip("172.16.1.253"), key: "change me" });
    expect(config.networks.map((n) => [n.id, n.registered, n.enabled])).toEqual([[1, true, true], [2, true, false]]);
    const [web, all] = config.servers;
    expect(web).toMatchObject({ targets: [1, 2, 3], backup: [4], method: "wrr", sessionTimeoutS: 300, persistence: "client", downPolicy: "reset", name: "web" });
    expect(all).toMatchObject({ port: 0, protocol: "udp", method: "maglev", persistence: "clientport", registered: true, enabled: false });
    expect(config.targets[0]).toMatchObject({
      weight: 3,
      ping: { intervalS: 2, timeoutS: 6 },
      arp: { intervalS: 2, timeoutS: 6 },
      tcpopen: [{ port: 80 }, { port: 443, intervalS: 5, timeoutS: 15 }],
      dsrcheck: [{ port: 80, intervalS: 3, timeoutS: 10 }],
      alert: "/usr/local/lib/bng/alert",
    });
    expect(config.targets[1]).toMatchObject({ http: { path: "/healthz", port: 80, intervalS: 3, timeoutS: 10 }, agent: { port: 439, intervalS: 3, timeoutS: 10 } });
    expect(config.targets[2]).toMatchObject({ script: { path: "/usr/local/lib/bng/check-web", intervalS: 5, timeoutS: 15 } });
    expect(config.targets.map((t) => [t.id, t.registered, t.enabled])).toEqual([
      [1, true, true], [2, true, true], [3, true, true], [4, true, true], [5, true, true], [6, true, true], [7, false, false],
    ]);
  });
});

describe("reading files", () => {
  test("a missing file is one diagnostic at line 0, not an exception", () => {
    const result = loadConfigFile("/nonexistent/bng.conf");
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatchObject({ severity: "error", file: "/nonexistent/bng.conf", line: 0, column: 0 });
    expect(result.errors[0]!.message).toContain("ENOENT");
    expect(formatDiagnostic(result.errors[0]!, undefined)).toMatch(/^\/nonexistent\/bng\.conf: error: cannot read the configuration: ENOENT/);
  });

  test("a directory is one diagnostic too", () => {
    const result = loadConfigFile("config");
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors).toEqual([expect.objectContaining({ line: 0, message: expect.stringContaining("EISDIR") })]);
  });

  test("CRLF line endings, a byte order mark and tabs are plain whitespace", () => {
    const seed = readFileSync("config/dsr-example.conf", "utf8");
    const windows = `\uFEFF${seed.replace(/\n/g, "\r\n").replace(/\n(ipaddr|port)/g, "\n\t$1")}`;
    const result = parseConfig(windows, "windows.conf");
    expect(result.ok).toBe(true);
  });

  test("an empty file is a valid configuration with nothing in it", () => {
    const result = parseConfig("// nothing here\n", "empty.conf");
    expect(result).toMatchObject({ ok: true, warnings: [] });
    if (result.ok) expect(summarizeConfig(result.config)).toBe("0 interfaces, 0 networks, 0 servers, 0 targets");
  });
});

import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseFeatures } from "../../src/host/offload.ts";
import { forwardingWarning, readIpv4Forwarding } from "../../src/host/sysctl.ts";

describe("ethtool -k parsing", () => {
  test("reads on/off and whether the driver fixes the feature", () => {
    const features = parseFeatures(`Features for eth0:
rx-checksumming: on
tx-checksumming: on
\ttx-checksum-ipv4: off [fixed]
generic-receive-offload: on
large-receive-offload: off [fixed]
rx-gro-hw: off [requested on fixed]
`);
    expect(features.get("generic-receive-offload")).toEqual({ on: true, fixed: false });
    expect(features.get("large-receive-offload")).toEqual({ on: false, fixed: true });
    expect(features.get("tx-checksum-ipv4")).toEqual({ on: false, fixed: true });
    expect(features.get("rx-gro-hw")).toEqual({ on: false, fixed: true });
    expect(features.has("Features for eth0")).toBe(false);
  });
});

describe("IPv4 forwarding", () => {
  function fakeProcSys(global: string, onInterface: string): string {
    const root = mkdtempSync(join(tmpdir(), "bng-sysctl-"));
    mkdirSync(join(root, "net/ipv4/conf/eth0"), { recursive: true });
    writeFileSync(join(root, "net/ipv4/ip_forward"), `${global}\n`);
    writeFileSync(join(root, "net/ipv4/conf/eth0/forwarding"), `${onInterface}\n`);
    return root;
  }

  test("reads the global and the interface flag; warns only when the interface forwards", () => {
    const root = fakeProcSys("1", "0");
    try {
      const forwarding = readIpv4Forwarding("eth0", root);
      expect(forwarding).toEqual({ global: true, onInterface: false });
      expect(forwardingWarning("eth0", forwarding)).toBeUndefined();
      expect(forwardingWarning("eth0", { global: true, onInterface: true })).toContain("sysctl -w net.ipv4.conf.eth0.forwarding=0");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test("refuses content that is not 0 or 1", () => {
    const root = fakeProcSys("2", "0");
    try {
      expect(() => readIpv4Forwarding("eth0", root)).toThrow("unexpected content");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

// planReload: a reload decided from the running configuration and the next one, without a kernel.
import { describe, expect, test } from "bun:test";
import { parseConfig } from "../../src/config/index.ts";
import type { Config } from "../../src/config/model.ts";
import { planRun, type RunPlan } from "../../src/control/plan.ts";
import { planReload, registeredTargets, reloadOutcome, startSettingsOf, type ReloadChanges } from "../../src/control/reload-plan.ts";
import { SEED_CONFIG_TEXT } from "./daemon-harness.ts";

function load(text: string): { config: Config; plan: RunPlan } {
  const parsed = parseConfig(text, "reload.conf");
  if (!parsed.ok) throw new Error(`not a valid configuration: ${JSON.stringify(parsed.errors)}`);
  const planned = planRun(parsed.config);
  if (!planned.ok) throw new Error(`planRun refused it: ${planned.errors.join("; ")}`);
  return { config: parsed.config, plan: planned.plan };
}

function reload(runningText: string, nextText: string) {
  const running = load(runningText);
  return planReload({ ...running, startSettings: startSettingsOf(running.config) }, load(nextText));
}

function changesOf(runningText: string, nextText: string): ReloadChanges {
  const planned = reload(runningText, nextText);
  if (!planned.ok) throw new Error(`refused: ${planned.refusal}`);
  return planned.changes;
}

const VRRP = "vrrp {\nvrid 7\npriority 100\nnetwork 1\n}\n";

describe("planReload", () => {
  test("the same file again changes nothing", () => {
    expect(changesOf(SEED_CONFIG_TEXT, SEED_CONFIG_TEXT)).toEqual({ renewedTargets: [], retimedServers: [], members: new Map([[1, new Set([1, 2])]]), newVips: [], deferred: [] });
  });

  test("a target with a new address, one gone and one no longer registered are renewed (their sessions and MAC go)", () => {
    const next = SEED_CONFIG_TEXT.replace("ipaddr 172.16.1.101", "ipaddr 172.16.1.102");
    expect(changesOf(SEED_CONFIG_TEXT, next).renewedTargets).toEqual([2]);
    const unregistered = SEED_CONFIG_TEXT.replace("register targets 1,2", "register target 1").replace("enable targets 1,2", "enable target 1").replace("targets 1,2\n}", "targets 1\n}");
    expect(changesOf(SEED_CONFIG_TEXT, unregistered).renewedTargets).toEqual([2]);
    const gone = unregistered.replace(/target 2 \{[^}]*\}\n/, "");
    expect(changesOf(SEED_CONFIG_TEXT, gone).renewedTargets).toEqual([2]);
  });

  test("a server's new timeout is carried with its id; its members are what it lists", () => {
    const changes = changesOf(SEED_CONFIG_TEXT, SEED_CONFIG_TEXT.replace("targets 1,2\n}", "targets 1,2\ntimeout 120\n}"));
    expect(changes.retimedServers).toEqual([{ id: 1, timeoutS: 120 }]);
    expect(changes.members).toEqual(new Map([[1, new Set([1, 2])]]));
  });

  test("a VIP that becomes answered is listed; one answered before is not", () => {
    const next = `${SEED_CONFIG_TEXT}server 2 {\nipaddr 172.16.1.11\nport 80\nprotocol tcp\ntargets 1,2\n}\nregister server 2\nenable server 2\n`;
    expect(changesOf(SEED_CONFIG_TEXT, next).newVips).toEqual([0xac10010b]);
    expect(changesOf(next, next).newVips).toEqual([]);
    // A server enabled by the reload: its VIP becomes answered too.
    expect(changesOf(next.replace("enable server 2\n", ""), next).newVips).toEqual([0xac10010b]);
  });

  test("start settings that differ are deferred, each with the running value; written defaults are no change", () => {
    const changes = changesOf(SEED_CONFIG_TEXT, `set workers 2\nset io ring\n${SEED_CONFIG_TEXT}`);
    expect(changes.deferred).toEqual([
      { wanted: "workers 2", running: "workers 1" },
      { wanted: "io ring", running: "io mmsg" },
    ]);
    expect(changesOf(SEED_CONFIG_TEXT, `set workers 1\nset io mmsg\n${SEED_CONFIG_TEXT}`).deferred).toEqual([]);
  });

  test("a new interface or network address, or a changed vrrp block, is refused as needing a restart", () => {
    const moved = reload(SEED_CONFIG_TEXT, SEED_CONFIG_TEXT.replace("real 172.16.1.252", "real 172.16.1.253"));
    expect(moved.ok).toBe(false);
    if (!moved.ok) expect(moved.refusal).toMatch(/^reload refused: .*172\.16\.1\.253.*; that needs a restart of bng$/);
    const paired = reload(SEED_CONFIG_TEXT, `${VRRP}${SEED_CONFIG_TEXT}`);
    expect(paired).toEqual({ ok: false, refusal: "reload refused: the vrrp block or the VIPs it stands for changed; that needs a restart of bng" });
    expect(reload(`${VRRP}${SEED_CONFIG_TEXT}`, `${VRRP}${SEED_CONFIG_TEXT}`).ok).toBe(true);
    expect(reload(`${VRRP}${SEED_CONFIG_TEXT}`, `${VRRP.replace("priority 100", "priority 90")}${SEED_CONFIG_TEXT}`).ok).toBe(false);
  });
});

describe("reloadOutcome and registeredTargets", () => {
  test("the reply names the file and counts; deferred settings add what waits and what runs", () => {
    const { config } = load(SEED_CONFIG_TEXT);
    expect(reloadOutcome("/etc/bng.conf", config, [])).toEqual({ message: "reloaded /etc/bng.conf: 1 server, 2 targets" });
    expect(reloadOutcome("/etc/bng.conf", config, [{ wanted: "workers 2", running: "workers 1" }, { wanted: "io ring", running: "io mmsg" }])).toEqual({
      message: "reloaded /etc/bng.conf: 1 server, 2 targets; workers 2, io ring: only at the next start (running: workers 1, io mmsg)",
      deferred: { settings: "workers 2, io ring", running: "workers 1, io mmsg" },
    });
  });

  test("only registered targets are checked and forwarded to", () => {
    const { config } = load(SEED_CONFIG_TEXT.replace("register targets 1,2", "register target 1").replace("enable targets 1,2", "enable target 1").replace("targets 1,2\n}", "targets 1\n}"));
    expect(registeredTargets(config).map((target) => target.id)).toEqual([1]);
  });
});

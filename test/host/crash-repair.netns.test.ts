// A killed bng's changes to the box are undone by the next start, whatever its control socket:
// receive coalescing back as it was, the `real` address gone, the nftables table deleted, and
// the host-state file that recorded them removed at the clean stop.
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hostStatePath, namespaceId } from "../../src/host/host-state.ts";
import { BngProcess, DummyNamespace, SEED_CONFIG_TEXT } from "../control/harness.ts";
import { describeWith, ROOT } from "../fixtures/requirements.ts";

const dir = mkdtempSync(join(tmpdir(), "bng-crash-"));
const namespaces: DummyNamespace[] = [];

afterAll(() => {
  for (const namespace of namespaces) namespace.remove();
  rmSync(dir, { recursive: true, force: true });
});

describeWith([ROOT], "a killed bng's changes to the box", () => {
  test("SIGKILL, a start on another socket, SIGTERM: GRO as before, no address, no nftables table, no state file", async () => {
    const namespace = new DummyNamespace();
    namespaces.push(namespace);
    // The lone eth0 is a veth where the kernel lacks the dummy module; turn GRO on either way,
    // so that bng has something to turn off and the test something to see restored.
    namespace.exec(["ethtool", "-K", "eth0", "gro", "on"]);
    const gro = () => /generic-receive-offload: (on|off)/.exec(namespace.exec(["ethtool", "-k", "eth0"]))?.[1];
    const tables = () => namespace.exec(["nft", "list", "tables"]);
    expect(gro()).toBe("on");
    const runDir = join(dir, "run");
    const env = { ...process.env, BNG_RUN_DIR: runDir } as Record<string, string>;
    const config = join(dir, "bng.conf");
    writeFileSync(config, SEED_CONFIG_TEXT);
    const statePath = hostStatePath(runDir, namespaceId(namespace.exec(["readlink", "/proc/self/ns/net"])), "eth0");

    const killed = new BngProcess(namespace, ["run", config, "--socket", join(dir, "a", "bng.sock")], env);
    await killed.waitFor(/ ready /);
    expect(gro()).toBe("off");
    expect(namespace.addresses()).toContain("172.16.1.252/24");
    expect(tables()).toContain("netdev bng_eth0");
    expect(JSON.parse(await Bun.file(statePath).text())).toMatchObject({ changes: { offloadTurnedOff: ["generic-receive-offload"], addressesAdded: ["172.16.1.252/24"], filterTable: true } });
    killed.signal("SIGKILL");
    await killed.exited;

    const next = new BngProcess(namespace, ["run", config, "--socket", join(dir, "b", "bng.sock")], env);
    await next.waitFor(/ ready /);
    const log = next.lines.join("\n");
    expect(log).toMatch(/host-repaired interface=eth0 pid=\d+ offload_restored=generic-receive-offload filter_table=deleted addresses_kept=172\.16\.1\.252\/24/);
    expect(log).toMatch(/address-adopted interface=eth0 address=172\.16\.1\.252\/24/);
    expect(log).toMatch(/offload-disabled interface=eth0 features=generic-receive-offload/);
    next.signal("SIGTERM");
    expect(await next.exited).toBe(0);

    expect(gro()).toBe("on");
    expect(namespace.addresses()).not.toContain("172.16.1.252/24");
    expect(tables()).not.toContain("bng_eth0");
    expect(existsSync(statePath)).toBe(false);
  }, 30_000);

  test("a killed bng's address this start does not need is removed, not adopted", async () => {
    const namespace = new DummyNamespace();
    namespaces.push(namespace);
    const runDir = join(dir, "run2");
    const env = { ...process.env, BNG_RUN_DIR: runDir } as Record<string, string>;
    const first = join(dir, "first.conf");
    const second = join(dir, "second.conf");
    writeFileSync(first, SEED_CONFIG_TEXT);
    writeFileSync(second, SEED_CONFIG_TEXT.replace("real 172.16.1.252", "real 172.16.1.251"));
    const killed = new BngProcess(namespace, ["run", first, "--socket", join(dir, "c", "bng.sock")], env);
    await killed.waitFor(/ ready /);
    killed.signal("SIGKILL");
    await killed.exited;
    const next = new BngProcess(namespace, ["run", second, "--socket", join(dir, "c", "bng.sock")], env);
    await next.waitFor(/ ready /);
    expect(next.lines.join("\n")).toMatch(/host-repaired .*addresses_removed=172\.16\.1\.252\/24/);
    expect(namespace.addresses()).toEqual(["172.16.1.251/24"]);
    next.signal("SIGTERM");
    expect(await next.exited).toBe(0);
    expect(namespace.addresses()).toEqual([]);
  }, 30_000);
});

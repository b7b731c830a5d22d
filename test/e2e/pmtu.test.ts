// Path MTU discovery through bng (issue 19): a router hop with an MTU of 1280 on the client's
// side, targets that send full-size segments with DF set (Linux's default): the router's
// "fragmentation needed" goes to the VIP, bng forwards it to the target that served the client,
// the target lowers its path MTU and the download completes. The same download with those ICMP
// errors kept from bng (an nftables rule on the lab's switch, i.e. what bng did before: drop
// them) stalls, so the forwarding is what makes it work.
import { beforeAll, expect, test } from "bun:test";
import { describeWith, ROOT } from "../fixtures/requirements.ts";
import { readFileSync } from "node:fs";
import { BNG_MAC, ROUTER_ADDRESS, VIP, clientAddress, type Lab } from "./lab.ts";
import { SEED_CONFIG_PATH, type BngInLab, type Scratch } from "./bng.ts";
import { labWithBng } from "./fixture.ts";

const DOWNLOAD_BYTES = 1 << 20;
const BOTTLENECK_MTU = 1280;
// The clients' own link keeps 1500: their SYNs offer an MSS of 1460, so the targets' segments
// are too big for the router's other link. The stalled download's target goes on retransmitting
// (and the router on answering) after curl gives up, so the download through bng comes from
// another client: a destination none of the targets has a path MTU for yet.
const STALLED_CLIENT = clientAddress(0);
const CLIENT = clientAddress(1);

describeWith([ROOT], "path MTU discovery through bng", () => {
  const fixture = labWithBng({ prefix: "bngm", clients: 2, config: readFileSync(SEED_CONFIG_PATH, "utf8") });
  let lab: Lab;
  let bng: BngInLab;
  let scratch: Scratch;
  beforeAll(async () => {
    ({ lab, bng, scratch } = fixture);
    await lab.exec(lab.ns.router, ["ip", "link", "set", "eth1", "mtu", String(BOTTLENECK_MTU)]);
    // Each target serves a 1 MiB file (python3's http.server) on port 80, in place of its name.
    const site = scratch.write("blob", "x".repeat(DOWNLOAD_BYTES)).replace(/\/blob$/, "");
    for (const n of lab.targetNumbers()) {
      await lab.stopTargetServer(n);
      const server = lab.spawnIn(lab.targetNs(n), ["python3", "-m", "http.server", "80", "--bind", "0.0.0.0", "--directory", site]);
      await server.waitForOutput(/Serving HTTP/, 5000);
    }
  }, 30_000);

  /** Downloads the file from `client` through bng; resolves with the bytes received and curl's exit code. */
  async function download(client: string, maxSeconds: number): Promise<{ bytes: number; exitCode: number }> {
    const result = await lab.exec(
      lab.ns.client,
      ["curl", "--silent", "--output", "/dev/null", "--write-out", "%{size_download}", "--interface", client, "--max-time", String(maxSeconds), `http://${VIP}/blob`],
      { allowFailure: true, timeoutMs: (maxSeconds + 5) * 1000 },
    );
    return { bytes: Number(result.stdout.trim()), exitCode: result.exitCode };
  }

  /** The path MTU target n has cached for `client`, or undefined. */
  async function cachedMtu(n: number, client: string): Promise<number | undefined> {
    const route = (await lab.exec(lab.targetNs(n), ["ip", "route", "get", client])).stdout;
    const mtu = /\bmtu (\d+)/.exec(route)?.[1];
    return mtu === undefined ? undefined : Number(mtu);
  }

  test("without the ICMP errors reaching bng the download stalls; with bng forwarding them it completes", async () => {
    // Control: the lab's switch drops ICMP errors to the VIP before bng sees them.
    await lab.exec(lab.ns.switch, ["nft", `add table bridge pmtu; add chain bridge pmtu forward { type filter hook forward priority 0; }; add rule bridge pmtu forward ip daddr ${VIP} icmp type destination-unreachable drop`]);
    const stalled = await download(STALLED_CLIENT, 6);
    console.log(`ICMP errors kept from bng: curl exit ${stalled.exitCode}, ${stalled.bytes} of ${DOWNLOAD_BYTES} bytes`);
    expect(stalled.exitCode).toBe(28); // curl: operation timed out
    expect(stalled.bytes).toBeLessThan(DOWNLOAD_BYTES);
    await lab.exec(lab.ns.switch, ["nft", "delete table bridge pmtu"]);

    for (const n of lab.targetNumbers()) expect(await cachedMtu(n, CLIENT)).toBeUndefined();
    const captures = await Promise.all(lab.targetNumbers().map((n) => lab.capture(lab.targetNs(n), "eth0", "icmp")));
    const completed = await download(CLIENT, 20);
    const frames = await Promise.all(captures.map((capture) => capture.stop()));
    console.log(`bng forwarding ICMP errors: curl exit ${completed.exitCode}, ${completed.bytes} bytes`);
    expect(completed).toEqual({ bytes: DOWNLOAD_BYTES, exitCode: 0 });
    // The router's "fragmentation needed" about the replies to CLIENT reached one target (the
    // one serving CLIENT), from bng's MAC, and that target now sends CLIENT 1280-byte packets.
    const aboutClient = new RegExp(`^ICMP ${CLIENT.replaceAll(".", "\\.")} unreachable - need to frag \\(mtu ${BOTTLENECK_MTU}\\)`);
    const arrivals = frames.map((captured) => captured.filter((frame) => frame.ip?.dst === VIP && aboutClient.test(frame.ip ? frame.summary.slice(frame.summary.indexOf("ICMP")) : "")));
    const receivers = lab.targetNumbers().filter((_, i) => arrivals[i]!.length > 0);
    expect(receivers.length).toBe(1);
    const receiver = receivers[0]!;
    for (const frame of arrivals[receiver - 1]!) expect([frame.srcMac, frame.ip?.src]).toEqual([BNG_MAC, ROUTER_ADDRESS]);
    expect(await cachedMtu(receiver, CLIENT)).toBe(BOTTLENECK_MTU);
    for (const n of lab.targetNumbers()) if (n !== receiver) expect(await cachedMtu(n, CLIENT)).toBeUndefined();
    const status = await bng.status();
    expect([status.drops.icmp_error_no_session, status.drops.icmp_error_malformed]).toEqual([0, 0]);
  }, 60_000);
});

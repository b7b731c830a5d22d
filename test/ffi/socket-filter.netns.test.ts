// The VIP socket filter (src/bpf/classic.ts vipFrameFilter) on the AF_PACKET engines' own sockets,
// between two namespaces joined by veth (names bngs + random suffix, removed afterwards even on
// failure): the kernel hands the engine ARP and IPv4 frames to a VIP, and nothing else reaches
// its socket (not even into its queue: no kernel drops); swapping the filter on the open socket
// makes the new VIP set count at once. Needs root.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { arpFrame, ethernet, tcpFrame } from "../fixtures/frames.ts";
import { waitForFile } from "../fixtures/flag-file.ts";
import { describeWith, ROOT } from "../fixtures/requirements.ts";
import { vethLab, type IoKind } from "./netns-lab.ts";
import type { FrameSummary } from "./packet-io-helper.ts";

const lab = vethLab("bngs");
const VIP = "10.0.0.10";
const SECOND_VIP = "10.0.0.11";

describeWith([ROOT], "the VIP socket filter between two namespaces", () => {
  let scratch: string;
  beforeAll(() => {
    lab.create();
    scratch = mkdtempSync(join(tmpdir(), "bng-socket-filter-"));
  });
  afterAll(() => {
    lab.remove();
    rmSync(scratch, { recursive: true, force: true });
  });

  /** B sends `frames` to A (through B's own engine socket) and waits until they are out. */
  async function inject(frames: Uint8Array[]): Promise<void> {
    const sender = await lab.startHelper(lab.namespaceB, ["inject", lab.linkB, ...frames.map((frame) => Buffer.from(frame).toString("hex"))]);
    expect(await sender.result<{ accepted: number }>()).toEqual({ accepted: frames.length });
    // The receiver drains its queue every 20 ms at most.
    await Bun.sleep(200);
  }

  test.each(["mmsg", "ring"] as const)("%s: only ARP and the VIPs' frames reach the socket; a swapped filter follows the new VIPs", async (io: IoKind) => {
    const flag = join(scratch, `${io}-flag`);
    const receiver = await lab.startHelper(lab.namespaceA, ["filter", lab.linkA, flag, VIP, SECOND_VIP], io);
    const tcpTo = (dstIp: string, dstPort: number, vlan?: number) =>
      tcpFrame({ src: lab.macB, dst: lab.macA, srcIp: "192.0.2.7", dstIp, srcPort: 4000, dstPort, flags: 2, ...(vlan === undefined ? {} : { vlan }) });
    const arpRequest = (port: number) => arpFrame({ op: 1, src: lab.macB, senderMac: lab.macB, senderIp: "192.0.2.2", targetIp: `10.0.${port}.1` });
    await inject([tcpTo(VIP, 1), tcpTo(SECOND_VIP, 2), tcpTo("10.0.0.99", 3), arpRequest(4), ethernet({ src: lab.macB, dst: lab.macA }, 0x86dd, new Uint8Array(46)), tcpTo(VIP, 6, 100)]);
    writeFileSync(flag, "");
    await waitForFile(`${flag}.swapped`);
    await inject([tcpTo(VIP, 7), tcpTo(SECOND_VIP, 8), arpRequest(9)]);
    writeFileSync(`${flag}.done`, "");
    const { before, after, kernelDrops } = await receiver.result<{ before: FrameSummary[]; after: FrameSummary[]; kernelDrops: number }>();
    // What the test sent (the kernel of B sends nothing here: the frames come from its packet socket).
    const seen = (frames: FrameSummary[]) =>
      frames.filter((frame) => frame.source === lab.macB).map((frame) => (frame.etherType === 0x0806 ? "arp" : `${frame.destinationIp ?? frame.etherType.toString(16)}:${frame.destinationPort}`));
    expect(seen(before)).toEqual([`${VIP}:1`, "arp"]);
    expect(seen(after)).toEqual([`${SECOND_VIP}:8`, "arp"]);
    expect(kernelDrops).toBe(0);
  }, 30_000);
});

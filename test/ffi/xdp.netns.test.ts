// The XDP engine (ffi/packet-io/xdp.ts) and bng's XDP program (src/bpf/xdp.ts, attached by
// src/host/xdp-redirect.ts) on a real veth pair between two namespaces (names bngx + random
// suffix, removed afterwards even on failure): what reaches the engine and what the kernel keeps,
// frames forwarded from where they arrived in the UMEM and replies from free chunks, the kernel's
// drops, and the attachment itself. Needs root; skipped otherwise.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FRAME_CSUM_NOT_READY, PACKET_BROADCAST, PACKET_HOST, PACKET_OTHERHOST } from "../../src/dataplane/packet-io.ts";
import { arpFrame, ethernet, tcpFrame } from "../fixtures/frames.ts";
import { run, type RunningProcess } from "../fixtures/process.ts";
import { describeWith, ROOT } from "../fixtures/requirements.ts";
import { inNamespace, vethLab } from "./netns-lab.ts";

const lab = vethLab("bngx");
const HELPER = new URL("./xdp-helper.ts", import.meta.url).pathname;
const VIP = "10.0.0.10";

interface Seen {
  length: number;
  pktType: number;
  flags: number;
  etherType: number;
  destinationIp?: string;
  destinationPort?: number;
  arpOp?: number;
  arpTarget?: string;
}

/** The XDP helper in namespace A on A's link, started and ready. */
async function xdpHelper(args: string[]): Promise<{ child: RunningProcess; ready: Record<string, unknown>; result<T>(): Promise<T> }> {
  const child = lab.spawn(lab.namespaceA, [process.execPath, HELPER, args[0]!, lab.linkA, VIP, ...args.slice(1)]);
  const { line } = await child.waitFor(() => true, 10_000);
  const ready = JSON.parse(line) as Record<string, unknown>;
  expect(ready.ready).toBe(true);
  return {
    child,
    ready,
    async result<T>(): Promise<T> {
      const { line: last } = await child.waitFor(() => true, 60_000, 1);
      await child.exited;
      return JSON.parse(last) as T;
    },
  };
}

function xdpOfLinkA(): string {
  return run(inNamespace(lab.namespaceA, ["ip", "link", "show", lab.linkA]));
}

describeWith([ROOT], "the XDP engine between two namespaces", () => {
  let scratch: string;
  beforeAll(() => {
    lab.create();
    scratch = mkdtempSync(join(tmpdir(), "bng-xdp-"));
  });
  afterAll(() => {
    lab.remove();
    rmSync(scratch, { recursive: true, force: true });
  });

  test("it takes the VIP's frames and the ARP requests for it from the program, the rest of ARP from its tap; the kernel keeps the rest", async () => {
    const receiver = await xdpHelper(["receive", "1500"]);
    const tcpTo = (dstIp: string, dstPort: number, partial = false) =>
      tcpFrame({ src: lab.macB, dst: lab.macA, srcIp: lab.addressB, dstIp, srcPort: 4000, dstPort, flags: 2, partialChecksum: partial });
    const frames = [
      tcpTo(VIP, 1),
      tcpTo(VIP, 2, true),
      tcpFrame({ src: lab.macB, dst: "02:00:00:00:99:99", srcIp: lab.addressB, dstIp: VIP, srcPort: 4000, dstPort: 3, flags: 2 }),
      tcpTo("10.0.0.99", 4),
      arpFrame({ op: 1, src: lab.macB, senderMac: lab.macB, senderIp: lab.addressB, targetIp: VIP }),
      arpFrame({ op: 1, src: lab.macB, senderMac: lab.macB, senderIp: lab.addressB, targetIp: "10.0.0.200" }),
      ethernet({ src: lab.macB, dst: lab.macA }, 0x86dd, new Uint8Array(46)),
      tcpFrame({ src: lab.macB, dst: lab.macA, srcIp: lab.addressB, dstIp: VIP, srcPort: 4000, dstPort: 5, flags: 2, vlan: 100 }),
    ];
    const sender = await lab.startHelper(lab.namespaceB, ["inject", lab.linkB, ...frames.map((frame) => Buffer.from(frame).toString("hex"))]);
    expect(await sender.result<{ accepted: number }>()).toEqual({ accepted: frames.length });
    // A's kernel still answers for its own address (ARP and ICMP pass the program).
    run(inNamespace(lab.namespaceB, ["ping", "-c", "1", "-W", "2", lab.addressA]));
    const { frames: seen, sendsWith } = await receiver.result<{ frames: Seen[]; sendsWith: string }>();
    expect(sendsWith).toBe("AF_XDP tx ring (copy)");
    const ours = seen.filter((frame) => frame.destinationIp === VIP || frame.arpTarget === VIP || frame.arpTarget === "10.0.0.200");
    expect(ours.map((frame) => (frame.etherType === 0x0806 ? `arp ${frame.arpTarget}` : `${frame.destinationIp}:${frame.destinationPort}`)).toSorted()).toEqual(
      ["10.0.0.10:1", "10.0.0.10:2", "10.0.0.10:3", "arp 10.0.0.10", "arp 10.0.0.200"].toSorted(),
    );
    const byPort = (port: number) => ours.find((frame) => frame.destinationPort === port)!;
    expect(byPort(1)).toMatchObject({ pktType: PACKET_HOST, flags: 0, length: 54 });
    // veth hands XDP the sender's partial checksum as it is; the engine recognises it.
    expect(byPort(2).flags).toBe(FRAME_CSUM_NOT_READY);
    expect(byPort(3).pktType).toBe(PACKET_OTHERHOST);
    expect(ours.find((frame) => frame.arpTarget === VIP)!.pktType).toBe(PACKET_BROADCAST);
    expect(seen.filter((frame) => frame.destinationIp === "10.0.0.99" || frame.etherType === 0x86dd)).toEqual([]);
  }, 30_000);

  test("frames are forwarded from where they arrived in the UMEM, and copied replies from free chunks, 100,000 times over", async () => {
    const forwarder = await xdpHelper(["forward", "6000"]);
    const sender = await lab.startHelper(lab.namespaceB, ["flood", lab.linkB, lab.macA, "100000", VIP]);
    const flood = await sender.result<{ sent: number; returned: number; wallMs: number }>();
    const forwarded = await forwarder.result<{ forwarded: number; copied: number; userMicros: number; systemMicros: number; stats: { sendDropped: number; kernelDrops: number } }>();
    const perFrame = (micros: number) => Math.round((micros * 1000) / forwarded.forwarded);
    console.log(
      `xdp forwarder: ${forwarded.forwarded} frames (${forwarded.copied} copied) in ${Math.round(flood.wallMs)} ms; per frame user ${perFrame(forwarded.userMicros)} ns, system ${perFrame(forwarded.systemMicros)} ns; ${flood.returned} of ${flood.sent} back intact`,
    );
    expect(flood.sent).toBe(100_000);
    // Chunks go round the UMEM (3,200 of them) about 30 times: none may be lost on the way.
    expect(flood.returned).toBe(flood.sent);
    expect(forwarded.forwarded).toBe(flood.sent);
    expect(forwarded.copied).toBe(flood.sent / 2);
    expect(forwarded.stats.sendDropped).toBe(0);
  }, 30_000);

  test("frames the engine does not take in time are counted as the kernel's drops", async () => {
    const flag = join(scratch, "sent");
    const receiver = await xdpHelper(["overflow", flag]);
    // More of the VIP's frames than the fill ring holds, paced so that none is lost before XDP.
    const sender = await lab.startHelper(lab.namespaceB, ["blast", lab.linkB, lab.macA, "6000", VIP]);
    const { sent } = await sender.result<{ sent: number }>();
    writeFileSync(flag, "");
    const outcome = await receiver.result<{ taken: number; kernelDrops: number; kernelDropsAgain: number }>();
    console.log(`xdp: ${outcome.taken} of ${sent} frames taken, ${outcome.kernelDrops} dropped by the kernel`);
    expect(outcome.taken).toBeGreaterThan(0);
    expect(outcome.taken).toBeLessThan(sent);
    expect(outcome.taken + outcome.kernelDrops).toBe(sent);
    expect(outcome.kernelDropsAgain).toBe(outcome.kernelDrops);
  }, 30_000);

  test("the program is attached through a link while the engine runs, refuses a second one and a queue count other than the workers', and is gone after", async () => {
    const flag = join(scratch, "attach");
    const helper = await xdpHelper(["attach", flag]);
    expect(xdpOfLinkA()).toMatch(/prog\/xdp id \d+ name bng_vips /);
    expect(helper.ready.link).toBeGreaterThan(0);
    writeFileSync(flag, "");
    const { second, queues } = await helper.result<{ second: string; queues: string }>();
    expect(second).toContain(`${lab.linkA} already has an XDP program`);
    expect(queues).toContain(`one worker per receive queue, and ${lab.linkA} has 1 while set workers is 2`);
    expect(xdpOfLinkA()).not.toContain("xdp");
    expect(existsSync(flag)).toBe(true);
  }, 30_000);
});

// The control thread's filtered packet socket between two namespaces: the kernel queues only the
// frames its classic BPF program accepts, and its memberships show in the interface's filters.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { run } from "../fixtures/process.ts";
import { vethLab } from "./netns-lab.ts";

const HELPER = new URL("./filtered-socket-helper.ts", import.meta.url).pathname;
const root = process.getuid?.() === 0;
const lab = vethLab("bngfs");

beforeAll(() => {
  if (root) lab.create();
});
afterAll(() => lab.remove());

async function lines(child: Bun.Subprocess<"ignore", "pipe", "pipe">): Promise<AsyncGenerator<string>> {
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  return (async function* () {
    let buffered = "";
    for (;;) {
      const newline = buffered.indexOf("\n");
      if (newline >= 0) {
        yield buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        continue;
      }
      const chunk = await reader.read();
      if (chunk.done) return;
      buffered += decoder.decode(chunk.value, { stream: true });
    }
  })();
}

describe.skipIf(!root)("a filtered packet socket", () => {
  test("takes only what its program accepts: a VRRP advert, not ICMP, ARP or another group's protocol 112", async () => {
    const receiver = lab.spawn(lab.namespaceA, [process.execPath, HELPER, "receive", lab.linkA, "1500"]);
    const output = await lines(receiver);
    expect(JSON.parse((await output.next()).value as string)).toEqual({ ready: true });
    // The memberships are in the interface's address lists while the socket is open.
    expect(run(["ip", "-n", lab.namespaceA, "maddr", "show", "dev", lab.linkA])).toContain("01:00:5e:00:00:12");
    const sender = lab.spawn(lab.namespaceB, [process.execPath, HELPER, "send", lab.linkB, lab.macB]);
    expect(JSON.parse((await (await lines(sender)).next()).value as string)).toEqual({ sent: 4 });
    const result = JSON.parse((await output.next()).value as string) as { frames: { length: number; protocol: number; destination: string }[] };
    expect(result.frames).toEqual([{ length: 54, protocol: 112, destination: "224.0.0.18" }]);
    await receiver.exited;
    expect(run(["ip", "-n", lab.namespaceA, "maddr", "show", "dev", lab.linkA])).not.toContain("01:00:5e:00:00:12");
  }, 20_000);
});

// The control thread's filtered packet socket between two namespaces: the kernel queues only the
// frames its classic BPF program accepts, and its memberships show in the interface's filters.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { run } from "../fixtures/process.ts";
import { describeWith, ROOT } from "../fixtures/requirements.ts";
import { vethLab } from "./netns-lab.ts";

const HELPER = new URL("./filtered-socket-helper.ts", import.meta.url).pathname;
const lab = vethLab("bngfs");

describeWith([ROOT], "a filtered packet socket", () => {
  beforeAll(() => lab.create());
  afterAll(() => lab.remove());

  test("takes only what its program accepts: a VRRP advert, not ICMP, ARP or another group's protocol 112", async () => {
    const receiver = lab.spawn(lab.namespaceA, [process.execPath, HELPER, "receive", lab.linkA, "1500"]);
    expect(JSON.parse((await receiver.waitFor(() => true, 10_000)).line)).toEqual({ ready: true });
    // The memberships are in the interface's address lists while the socket is open.
    expect(run(["ip", "-n", lab.namespaceA, "maddr", "show", "dev", lab.linkA])).toContain("01:00:5e:00:00:12");
    const sender = lab.spawn(lab.namespaceB, [process.execPath, HELPER, "send", lab.linkB, lab.macB]);
    expect(JSON.parse((await sender.waitFor(() => true, 10_000)).line)).toEqual({ sent: 4 });
    const result = JSON.parse((await receiver.waitFor(() => true, 10_000, 1)).line) as { frames: { length: number; protocol: number; destination: string }[] };
    expect(result.frames).toEqual([{ length: 54, protocol: 112, destination: "224.0.0.18" }]);
    await receiver.exited;
    expect(run(["ip", "-n", lab.namespaceA, "maddr", "show", "dev", lab.linkA])).not.toContain("01:00:5e:00:00:12");
  }, 20_000);
});

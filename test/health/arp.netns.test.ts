// `arp`: ARP requests from the real address out of the checker's veth, answered by the target
// namespace's kernel. I = 1 s, T = 3 s.
import { expect, test } from "bun:test";
import { describeWith, ROOT } from "../fixtures/requirements.ts";
import { CheckLab, TARGET, useCheckLab } from "./check-lab.ts";

const I = 1;
const T = 3;
const lab = new CheckLab();

async function setUp(): Promise<void> {
  await lab.startMonitor([
    { id: 1, ipaddr: TARGET, port: 80, arp: [I, T] },
    { id: 2, ipaddr: "10.214.0.99", port: 80, arp: [I, T] },
  ]);
}

describeWith([ROOT], "arp in network namespaces", () => {
  useCheckLab(lab, setUp);

  test(
    "the target answers: up; an address nobody holds: down after T s without a reply",
    async () => {
      const up = await lab.nextEvent(1, "up", 3000, 0);
      expect(up.cause).toMatch(/^arp reply in [0-9.]+ ms$/);
      const down = await lab.nextEvent(2, "down", (T + 2) * 1000, 0);
      expect(down.cause).toBe(`arp no reply for ${T} s`);
    },
    10_000,
  );

  test(
    "the target's interface down: down after T s; up again: up within I s",
    async () => {
      lab.inTarget(["ip", "link", "set", "vtarget", "down"]);
      const downAt = Date.now();
      const down = await lab.nextEvent(1, "down", (T + 2) * 1000);
      // Frames into a veth whose peer is down are dropped (no reply); a kernel may refuse them instead.
      expect(down.cause).toMatch(new RegExp(`^arp (no reply|network is down) for ${T} s$`));
      expect(down.wallMs - downAt).toBeGreaterThanOrEqual((T - I) * 1000 - 1000);
      lab.inTarget(["ip", "link", "set", "vtarget", "up"]);
      const upAt = Date.now();
      const up = await lab.nextEvent(1, "up", (I + 3) * 1000);
      expect(up.wallMs - upAt).toBeLessThanOrEqual(I * 1000 + 1000);
    },
    15_000,
  );
});

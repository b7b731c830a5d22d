// Two VrrpNodes on an in-memory LAN: the adverts one writes pass the other's checks, one master
// at a time, a silent master is replaced within Master_Down_Interval, a stopped one hands over at
// once with its priority-0 advert, and garbage on the wire is counted, never acted on.
import { describe, expect, test } from "bun:test";
import { VrrpNode, type VrrpLink } from "../../src/control/vrrp-node.ts";
import { createLogger } from "../../src/log/logger.ts";
import { ip } from "../fixtures/frames.ts";

const VIP = ip("172.16.1.10");

class Lan {
  readonly inboxes = new Map<number, Uint8Array[]>();
  readonly cut = new Set<number>();

  link(self: number): VrrpLink {
    this.inboxes.set(self, []);
    return {
      receive: (buffer) => {
        const frame = this.inboxes.get(self)!.shift();
        if (!frame) return 0;
        buffer.set(frame);
        return frame.length;
      },
      send: (frame, length) => {
        if (this.cut.has(self)) return;
        for (const [other, inbox] of this.inboxes) if (other !== self) inbox.push(frame.slice(0, length));
      },
      close: () => void this.inboxes.delete(self),
    };
  }
}

function vrrpNode(lan: Lan, real: string, priority: number, clock: { ms: number }) {
  const roles: string[] = [];
  const node = new VrrpNode(
    { vrid: 7, priority, intervalS: 1, preempt: true, realAddress: ip(real), vips: [VIP], syncPeer: false },
    lan.link(ip(real)),
    { becomeMaster: (reason) => roles.push(`master:${reason}`), becomeBackup: (reason) => roles.push(`backup:${reason}`) },
    createLogger(() => {}),
    () => clock.ms,
  );
  return { node, roles };
}

function run(clock: { ms: number }, untilMs: number, nodes: VrrpNode[]): void {
  while (clock.ms < untilMs) {
    clock.ms += 100;
    for (const node of nodes) node.poll();
  }
}

describe("a VRRP pair of bng nodes", () => {
  test("one master; a silent master is replaced within Master_Down_Interval; a stopped one hands over at once", () => {
    const lan = new Lan();
    const clock = { ms: 0 };
    const a = vrrpNode(lan, "172.16.1.252", 200, clock);
    const b = vrrpNode(lan, "172.16.1.253", 100, clock);
    a.node.start();
    b.node.start();
    run(clock, 5000, [a.node, b.node]);
    expect(a.node.isMaster).toBe(true);
    expect(b.node.isMaster).toBe(false);
    expect(b.node.status()).toMatchObject({ state: "backup", master: "172.16.1.252" });
    expect(b.node.status().adverts_received.accepted).toBeGreaterThan(0);

    // A is cut off (as a SIGKILL looks to B): B takes over within 3 x 1 s + (256 - 100) / 256 s (+ a tick).
    lan.cut.add(ip("172.16.1.252"));
    const cutAt = clock.ms;
    while (!b.node.isMaster && clock.ms < cutAt + 10_000) run(clock, clock.ms + 100, [b.node]);
    expect(clock.ms - cutAt).toBeLessThanOrEqual(3000 + 610 + 1000);
    expect(b.roles.at(-1)).toBe("master:master-down");

    // A comes back with its higher priority and preempts; then stops: B is master again at once.
    lan.cut.delete(ip("172.16.1.252"));
    run(clock, clock.ms + 5000, [a.node, b.node]);
    expect(a.node.isMaster).toBe(true);
    expect(b.node.isMaster).toBe(false);
    a.node.stop();
    const stoppedAt = clock.ms;
    run(clock, clock.ms + 1000, [b.node]);
    expect(b.node.isMaster).toBe(true);
    expect(b.roles.at(-1)).toBe("master:priority-zero");
    expect(clock.ms - stoppedAt).toBeLessThanOrEqual(1000);
  });

  test("garbage and bad-checksum adverts are counted and change no state", () => {
    const lan = new Lan();
    const clock = { ms: 0 };
    const a = vrrpNode(lan, "172.16.1.252", 200, clock);
    const b = vrrpNode(lan, "172.16.1.253", 100, clock);
    a.node.start();
    b.node.start();
    run(clock, 5000, [a.node, b.node]);
    const transitions = b.node.status().transitions;
    // Copies of A's own advert claiming priority 254 with the checksum left as it was (so it is
    // wrong), mixed with random bytes, while A goes on advertising.
    const inbox = lan.inboxes.get(ip("172.16.1.253"))!;
    inbox.length = 0;
    a.node.poll();
    run(clock, clock.ms + 1000, [a.node]);
    const genuine = inbox[0]!;
    let seed = 11;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) & 0xff);
    for (let i = 0; i < 5000; i++) {
      const forged = genuine.slice();
      forged[36] = 254;
      inbox.push(forged, Uint8Array.from({ length: 20 + (i % 80) }, random));
    }
    run(clock, clock.ms + 10_000, [a.node, b.node]);
    expect(b.node.status().transitions).toBe(transitions);
    expect(b.node.isMaster).toBe(false);
    expect(a.node.isMaster).toBe(true);
    const received = b.node.status().adverts_received;
    expect(received.bad_checksum).toBe(5000);
    expect(received.accepted).toBeGreaterThan(10);
  });
});

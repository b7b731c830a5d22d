// `dsrcheck`: a SYN to the VIP in a frame to the target's MAC. The target namespace is a DSR
// target: the VIP on its loopback, ARP for it silenced, a listener on every address. Removing
// the VIP from lo breaks the DSR path while the target's own address still answers: dsrcheck
// goes down, tcpopen stays up. I = 1 s, T = 3 s.
import { expect, test } from "bun:test";
import { describeWith, ROOT } from "../fixtures/requirements.ts";
import { CheckLab, REAL, TARGET, tcpListener, useCheckLab } from "./check-lab.ts";

const I = 1;
const T = 3;
const lab = new CheckLab();
const VIP = "10.214.0.10";
const PORT = 8080;
const OWN_ADDRESS_ONLY_PORT = 8081;
/** The target's half-open connections from the checker: what a SYN-ACK left without a RST. */
const halfOpen = () => lab.inTarget(["ss", "-Htn", "state", "syn-recv"]).split("\n").filter((line) => line.includes(REAL));

async function setUp(): Promise<void> {
  lab.inTarget(["ip", "addr", "add", `${VIP}/32`, "dev", "lo"]);
  for (const setting of ["net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2"]) lab.inTarget(["sysctl", "-q", "-w", setting]);
  await lab.spawnInTarget(["python3", "-c", tcpListener("0.0.0.0", PORT)]).waitFor(/listening/, 5000);
  await lab.spawnInTarget(["python3", "-c", tcpListener(TARGET, OWN_ADDRESS_ONLY_PORT)]).waitFor(/listening/, 5000);
  const mac = (JSON.parse(lab.inTarget(["ip", "-j", "link", "show", "vtarget"])) as { address: string }[])[0]!.address;
  const dsrPath = { vips: [VIP], mac };
  await lab.startMonitor([
    { id: 1, ipaddr: TARGET, port: PORT, tcpopen: [PORT, I, T] },
    { id: 2, ipaddr: TARGET, port: PORT, dsrcheck: [PORT, I, T], dsrPath },
    { id: 3, ipaddr: TARGET, port: OWN_ADDRESS_ONLY_PORT, dsrcheck: [OWN_ADDRESS_ONLY_PORT, I, T], dsrPath },
    { id: 4, ipaddr: TARGET, port: PORT, dsrcheck: [PORT, I, T] },
  ]);
}

describeWith([ROOT], "dsrcheck in network namespaces", () => {
  useCheckLab(lab, setUp);

  test(
    "the VIP answers through the target's MAC: up, and the target keeps no half-open connection",
    async () => {
      const up = await lab.nextEvent(2, "up", 3000, 0);
      expect(up.cause).toMatch(new RegExp(`^dsrcheck ${PORT} SYN-ACK from the VIP in [0-9.]+ ms$`));
      await Bun.sleep(2 * I * 1000);
      expect(halfOpen()).toEqual([]);
    },
    10_000,
  );

  test(
    "a service listening on the target's own address only: refused by the VIP; no MAC known: down with that cause",
    async () => {
      const refused = await lab.nextEvent(3, "down", (T + 2) * 1000, 0);
      expect(refused.cause).toBe(`dsrcheck ${OWN_ADDRESS_ONLY_PORT} refused by ${VIP}:${OWN_ADDRESS_ONLY_PORT} for ${T} s`);
      const unresolved = await lab.nextEvent(4, "down", (T + 2) * 1000, 0);
      expect(unresolved.cause).toBe(`dsrcheck ${PORT} target MAC not resolved for ${T} s`);
    },
    10_000,
  );

  test(
    "the VIP removed from lo: dsrcheck goes down after T s while tcpopen to the same host stays up; VIP back: up",
    async () => {
      const from = lab.runner!.lines.length;
      lab.inTarget(["ip", "addr", "del", `${VIP}/32`, "dev", "lo"]);
      const down = await lab.nextEvent(2, "down", (T + 2) * 1000);
      expect(down.cause).toBe(`dsrcheck ${PORT} no SYN-ACK from ${VIP}:${PORT} for ${T} s`);
      await Bun.sleep(I * 1000);
      const target1Events = lab.lines<{ type: string; targetId: number }>("event").filter((event) => event.targetId === 1);
      expect(target1Events.map((event) => (event as unknown as { to: string }).to)).toEqual(["up"]);
      expect(lab.runner!.lines.slice(from).some((line) => line.includes('"targetId":1'))).toBe(false);
      lab.inTarget(["ip", "addr", "add", `${VIP}/32`, "dev", "lo"]);
      await lab.nextEvent(2, "up", (I + 2) * 1000);
    },
    15_000,
  );
});

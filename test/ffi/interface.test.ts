// Runs in the test's own network namespace: reads the loopback interface and asks for names that
// do not exist. Nothing here changes any interface.
import { describe, expect, test } from "bun:test";
import { openFrameSender } from "../../ffi/frame-sender.ts";
import { openPacketIO } from "../../ffi/packet-io/open.ts";
import { SyscallError } from "../../ffi/errors.ts";
import { interfaceIndex, interfaceIndexLookup, interfaceMac, interfaceMtu } from "../../ffi/interface.ts";
import { formatMac } from "../../src/dataplane/frame.ts";
import { runCommandSync } from "../fixtures/process.ts";
import { program, ROOT, testWith } from "../fixtures/requirements.ts";

const MISSING = `bngfnone${Math.random().toString(16).slice(2, 6)}`;

function thrown(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error");
}

describe("interface info", () => {
  test("reads loopback's index and MTU", () => {
    expect(interfaceIndex("lo")).toBe(1);
    expect(interfaceMtu("lo")).toBeGreaterThanOrEqual(1500);
  });

  test("a repeated lookup gives the index while the interface exists and 0 for one that does not", () => {
    const loopback = interfaceIndexLookup("lo");
    expect(loopback()).toBe(1);
    expect(loopback()).toBe(1);
    expect(interfaceIndexLookup(MISSING)()).toBe(0);
    expect(() => interfaceIndexLookup("a/b")).toThrow("invalid interface name");
  });

  test("a missing interface is an ENODEV SyscallError that says what to check", () => {
    const error = thrown(() => interfaceIndex(MISSING));
    expect(error).toBeInstanceOf(SyscallError);
    expect((error as SyscallError).code).toBe("ENODEV");
    expect((error as Error).message).toBe(`if_nametoindex(${MISSING}) failed: ENODEV — no such interface ${MISSING}; see \`ip link\``);
    expect((thrown(() => interfaceMac(MISSING)) as Error).message).toContain(`no such interface ${MISSING}`);
    expect((thrown(() => interfaceMtu(MISSING)) as SyscallError).code).toBe("ENODEV");
  });

  test("opening the packet path on a missing interface fails before any socket is made", () => {
    expect((thrown(() => openPacketIO("mmsg", { ifname: MISSING })) as SyscallError).code).toBe("ENODEV");
    expect((thrown(() => openFrameSender(MISSING)) as SyscallError).code).toBe("ENODEV");
  });

  test("names the kernel could never hold are refused with the rule", () => {
    for (const name of ["", "a-name-longer-than-15", "eth/0", "eth 0"]) {
      expect((thrown(() => interfaceIndex(name)) as Error).message).toContain("invalid interface name");
    }
  });

  test("loopback is not Ethernet, which bng says plainly", () => {
    expect((thrown(() => interfaceMac("lo")) as Error).message).toContain("is not Ethernet");
  });

  test("bad options are refused before the interface is looked up", () => {
    expect((thrown(() => openPacketIO("mmsg", { ifname: "lo", batchSize: 0 })) as Error).message).toBe(
      "batchSize must be an integer from 1 to 1024, got 0",
    );
    expect(thrown(() => openPacketIO("mmsg", { ifname: "lo", fanoutGroup: 70000 }))).toBeInstanceOf(RangeError);
  });

  testWith([ROOT, program("setpriv")], "without CAP_NET_RAW the socket call says what bng needs", () => {
    const script = `import("${new URL("../../ffi/packet-io/open.ts", import.meta.url).pathname}").then((m) => { try { m.openPacketIO("mmsg", { ifname: "lo" }); } catch (e) { console.log(e.message); } })`;
    // Root without CAP_NET_RAW (not another user, who could not read a clone under /root).
    const result = runCommandSync(["setpriv", "--inh-caps=-net_raw", "--bounding-set=-net_raw", process.execPath, "-e", script], { allowFailure: true });
    expect(result.stdout.trim()).toBe("socket(AF_PACKET, SOCK_RAW) failed: EPERM — bng needs root or CAP_NET_RAW");
  });

  test("a Worker gets its own libc binding and reads its own thread's errno", async () => {
    const worker = new Worker(new URL("./errno-worker.ts", import.meta.url).href);
    try {
      const code = await new Promise<string>((resolve, reject) => {
        worker.onmessage = (event: MessageEvent<string>) => resolve(event.data);
        worker.onerror = (event) => reject(new Error(event.message));
        worker.postMessage(MISSING);
      });
      expect(code).toBe("ENODEV");
    } finally {
      worker.terminate();
    }
  });

  test("formats a MAC address", () => {
    expect(formatMac(Uint8Array.of(0x02, 0, 0x5e, 0x10, 0xa, 0xff))).toBe("02:00:5e:10:0a:ff");
  });
});

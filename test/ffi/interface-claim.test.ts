// One bng per interface: the claim refuses a second holder, is free again after release, and
// after its holder is SIGKILLed (the abstract socket dies with the process).
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { claimInterface, InterfaceInUseError } from "../../ffi/interface-claim.ts";
import { BUN, REPO, startProcess } from "../fixtures/process.ts";

// Names no real interface has, so a bng running on this machine is never in the way.
const NAME = `bngt${process.pid % 100000}`;

describe("claimInterface", () => {
  test("a second claim is refused with a message naming the interface; after release it succeeds", () => {
    const first = claimInterface(NAME);
    try {
      expect(() => claimInterface(NAME)).toThrow(InterfaceInUseError);
      expect(() => claimInterface(NAME)).toThrow(`another bng is already running on ${NAME} in this network namespace`);
      // Another interface is another claim.
      claimInterface(`${NAME}x`).release();
    } finally {
      first.release();
    }
    claimInterface(NAME).release();
  });

  test("a holder killed with SIGKILL leaves the interface free", async () => {
    const script = `const { claimInterface } = await import(${JSON.stringify(join(REPO, "ffi/interface-claim.ts"))}); claimInterface(${JSON.stringify(NAME)}); console.log("held"); setInterval(() => {}, 1000);`;
    const holder = startProcess([BUN, "-e", script]);
    try {
      expect((await holder.waitFor(() => true)).line).toContain("held");
      expect(() => claimInterface(NAME)).toThrow(InterfaceInUseError);
    } finally {
      await holder.stop(0, "SIGKILL");
    }
    claimInterface(NAME).release();
  });

  test("an interface name the kernel could not have is refused", () => {
    expect(() => claimInterface("a/b")).toThrow(/invalid interface name/);
  });
});

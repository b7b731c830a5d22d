import { describe, expect, test } from "bun:test";
import { createLogger } from "../../src/log/logger.ts";
import { installLastResort } from "../../src/main/last-resort.ts";

describe("the last resort", () => {
  test("an uncaught exception is logged, the box's changes undone, and the exit code is 1, once", () => {
    const lines: string[] = [];
    const undone: string[] = [];
    const exits: number[] = [];
    const uninstall = installLastResort(createLogger((line) => lines.push(line)), () => undone.push("box"), (code) => exits.push(code));
    try {
      process.emit("uncaughtException", new Error("boom in a timer"));
      process.emit("uncaughtException", new Error("a second one while exiting"));
    } finally {
      uninstall();
    }
    expect(undone).toEqual(["box"]);
    expect(exits).toEqual([1]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/ error fatal error="Error: boom in a timer/);
    expect(lines[0]).toContain('effect="bng undoes its changes to the box and exits 1"');
  });

  test("an unhandled rejection too; an undo that fails is logged and the exit still happens", () => {
    const lines: string[] = [];
    const exits: number[] = [];
    const uninstall = installLastResort(
      createLogger((line) => lines.push(line)),
      () => {
        throw new Error("ip addr del failed");
      },
      (code) => exits.push(code),
    );
    try {
      process.emit("unhandledRejection", "a rejected reload", Promise.resolve());
    } finally {
      uninstall();
    }
    expect(exits).toEqual([1]);
    expect(lines[0]).toMatch(/fatal error="a rejected reload"/);
    expect(lines[1]).toMatch(/fatal-undo-failed error="ip addr del failed"/);
  });
});

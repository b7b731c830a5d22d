// bng's own files are never written through a symlink, nor in a directory others may write to.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensurePrivateDirectory, replacePrivateFile, UnsafeDirectoryError } from "../../src/host/private-files.ts";

const dir = mkdtempSync(join(tmpdir(), "bng-files-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("private files", () => {
  test("a symlink where the pid file goes is replaced, and the file it pointed to is left alone", () => {
    const run = join(dir, "run");
    ensurePrivateDirectory(run);
    expect(lstatSync(run).mode & 0o777).toBe(0o700);
    const victim = join(dir, "victim");
    writeFileSync(victim, "precious\n");
    const pidFile = join(run, "bng.pid");
    symlinkSync(victim, pidFile);
    replacePrivateFile(pidFile, "4242\n");
    expect(readFileSync(victim, "utf8")).toBe("precious\n");
    expect(lstatSync(pidFile).isSymbolicLink()).toBe(false);
    expect(lstatSync(pidFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(pidFile, "utf8")).toBe("4242\n");
  });

  test("a leftover temporary file (a symlink planted under its name) is not followed either", () => {
    const run = join(dir, "run");
    const victim = join(dir, "victim2");
    writeFileSync(victim, "keep\n");
    const target = join(run, "state.json");
    symlinkSync(victim, join(run, `.state.json.${process.pid}.tmp`));
    replacePrivateFile(target, "{}\n");
    expect(readFileSync(victim, "utf8")).toBe("keep\n");
    expect(readFileSync(target, "utf8")).toBe("{}\n");
  });

  test("a directory others may write to is refused with the command that fixes it", () => {
    const open = join(dir, "open");
    mkdirSync(open);
    chmodSync(open, 0o1777);
    expect(() => ensurePrivateDirectory(open)).toThrow(UnsafeDirectoryError);
    expect(() => ensurePrivateDirectory(open)).toThrow(`fix it with: chmod 700 ${open}`);
  });
});

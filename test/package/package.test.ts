// The Debian package (npm run package): built from the real executable, installed, upgraded
// with the operator's /etc/bng.conf kept, removed and purged with dpkg in a root of its own
// (dpkg --root with an admin directory made here; the maintainer scripts run chrootless, with
// DPKG_ROOT set). The installed bng runs and its man page renders.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { BUN, REPO } from "../fixtures/process.ts";

const IS_ROOT = process.getuid?.() === 0;
const DPKG = Bun.which("dpkg-deb") !== null && Bun.which("dpkg") !== null;
const ARCH = DPKG ? Bun.spawnSync(["dpkg", "--print-architecture"]).stdout.toString().trim() : "";

function sh(argv: string[], env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  const result = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe", stdin: "ignore", env: { ...process.env, ...env } });
  return { code: result.exitCode ?? -1, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

/** Every path under `dir`, relative to it. */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true }).map(String).sort();
}

describe.skipIf(!IS_ROOT || !DPKG)("the Debian package", () => {
  const work = mkdtempSync(join(tmpdir(), "bng-package-"));
  const root = join(work, "root");
  const admin = join(root, "var/lib/dpkg");
  const deb = (version: string) => join(work, `bng_${version}_${ARCH}.deb`);
  const dpkg = (...args: string[]) => sh(["dpkg", `--root=${root}`, "--force-script-chrootless", ...args]);
  const query = (format: string) => sh(["dpkg-query", `--admindir=${admin}`, "-W", `-f=${format}`, "bng"]);
  let emptyRoot: string[] = [];

  beforeAll(() => {
    const build = sh([BUN, join(REPO, "build.ts")]);
    if (build.code !== 0) throw new Error(`build failed: ${build.stderr}`);
    for (const version of ["0.1.0~test1", "0.1.0~test2"]) {
      const made = sh(["bash", join(REPO, "scripts/package.sh")], { BNG_PACKAGE_VERSION: version, BNG_PACKAGE_DIR: work });
      if (made.code !== 0) throw new Error(`package.sh failed: ${made.stderr}`);
      expect(made.stdout.trim()).toBe(deb(version));
    }
    // A root with dpkg's admin directory; the packages bng depends on are recorded as installed
    // (their stanzas copied from this box's database), as they would be on a real system.
    for (const sub of ["info", "updates", "triggers"]) mkdirSync(join(admin, sub), { recursive: true });
    writeFileSync(join(admin, "available"), "");
    writeFileSync(join(admin, "status"), sh(["dpkg-query", "-s", "iproute2", "ethtool"]).stdout);
    for (const name of ["iproute2", "ethtool"]) writeFileSync(join(admin, "info", `${name}.list`), "");
    emptyRoot = tree(root);
  }, 240_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  test("holds the executable, the unit, the conffile, the MIB, the man page and the docs", () => {
    const listing = sh(["dpkg-deb", "-c", deb("0.1.0~test1")]).stdout;
    const files = listing.split("\n").filter((line) => line.startsWith("-")).map((line) => line.split(/\s+/).at(-1)!.replace(/^\./, "")).sort();
    expect(files).toEqual(
      [
        "/etc/bng.conf",
        "/lib/systemd/system/bng.service",
        "/usr/sbin/bng",
        "/usr/share/man/man8/bng.8.gz",
        "/usr/share/snmp/mibs/BNG-MIB.txt",
        "/usr/share/doc/bng/copyright",
        "/usr/share/doc/bng/README.md",
        ...readdirSync(join(REPO, "docs")).filter((name) => name.endsWith(".md")).map((name) => `/usr/share/doc/bng/${name}`),
      ].sort(),
    );
    expect(listing).toMatch(/^-rwxr-xr-x root\/root +\d+ \S+ \S+ \.\/usr\/sbin\/bng$/m);
    const control = sh(["dpkg-deb", "-f", deb("0.1.0~test1"), "Package", "Version", "Architecture", "Depends"]).stdout;
    expect(control).toBe(`Package: bng\nVersion: 0.1.0~test1\nArchitecture: ${ARCH}\nDepends: iproute2, ethtool\n`);
    expect(sh(["dpkg-deb", "-I", deb("0.1.0~test1"), "conffiles"]).stdout).toBe("/etc/bng.conf\n");
  });

  test("installs: bng runs from /usr/sbin, the unit starts it from there, man renders bng(8)", () => {
    const installed = dpkg("-i", deb("0.1.0~test1"));
    expect(installed.code).toBe(0);
    expect(installed.stderr).toBe("");
    expect(query("${Status} ${Version}").stdout).toBe("install ok installed 0.1.0~test1");
    const version = sh([join(root, "usr/sbin/bng"), "version"]);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^bng \d+\.\d+\.\d+/);
    expect(statSync(join(root, "usr/sbin/bng")).mode & 0o777).toBe(0o755);
    const unit = readFileSync(join(root, "lib/systemd/system/bng.service"), "utf8");
    expect(unit).toContain("ExecStart=/usr/sbin/bng run /etc/bng.conf\n");
    expect(unit).not.toContain("/usr/local");
    expect(readFileSync(join(root, "etc/bng.conf"), "utf8")).toBe(readFileSync(join(REPO, "config/dsr-example.conf"), "utf8"));
    const man = sh(["man", "--warnings", "-l", join(root, "usr/share/man/man8/bng.8.gz")], { MANWIDTH: "100", MAN_KEEP_FORMATTING: "" });
    expect(man.code).toBe(0);
    expect(man.stderr).toBe("");
    expect(man.stdout).toContain("bng - load balancer for Linux that reads BalanceNG's configuration language");
    // The installed bng checks the installed configuration.
    const check = sh([join(root, "usr/sbin/bng"), "check", join(root, "etc/bng.conf")]);
    expect(check.stdout).toContain("OK");
  }, 60_000);

  test("upgrades: the operator's /etc/bng.conf stays as they wrote it", () => {
    const edited = `// edited by the operator\n${readFileSync(join(root, "etc/bng.conf"), "utf8")}`;
    writeFileSync(join(root, "etc/bng.conf"), edited);
    const upgraded = dpkg("-i", deb("0.1.0~test2"));
    expect(upgraded.code).toBe(0);
    expect(upgraded.stdout).toContain("Unpacking bng (0.1.0~test2) over (0.1.0~test1)");
    expect(query("${Status} ${Version}").stdout).toBe("install ok installed 0.1.0~test2");
    expect(readFileSync(join(root, "etc/bng.conf"), "utf8")).toBe(edited);
    expect(existsSync(join(root, "etc/bng.conf.dpkg-new"))).toBe(false);
  }, 60_000);

  test("removes (the configuration stays), then purges without a trace", () => {
    mkdirSync(join(root, "var/log"), { recursive: true });
    writeFileSync(join(root, "var/log/bng.log"), "a log line\n");
    const removed = dpkg("--remove", "bng");
    expect(removed.code).toBe(0);
    expect(existsSync(join(root, "usr/sbin/bng"))).toBe(false);
    expect(existsSync(join(root, "etc/bng.conf"))).toBe(true);
    expect(query("${Status}").stdout).toBe("deinstall ok config-files");
    const purged = dpkg("--purge", "bng");
    expect(purged.code).toBe(0);
    expect(existsSync(join(root, "etc/bng.conf"))).toBe(false);
    expect(existsSync(join(root, "var/log/bng.log"))).toBe(false);
    expect(query("${Status}").code).not.toBe(0);
    // Nothing of bng's left outside dpkg's own database.
    const left = tree(root).filter((path) => !path.startsWith(relative(root, admin)) && !emptyRoot.includes(path));
    expect(left.filter((path) => !["var/log", "var"].includes(path))).toEqual([]);
  }, 60_000);
});

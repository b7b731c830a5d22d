// The house's one rule, checked on the code itself: imports run down the layers, never back up.
// Composition roots (src/cli, src/main) may import anything; the core (config, dataplane, the
// health state machine) imports neither the control plane nor the kernel layer (ffi/); only
// the roots, the host-network component (src/host) and the health probes touch ffi/.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");

/** Folder (or file) -> the folders and files it may import, besides itself. */
const ALLOWED: Record<string, readonly string[]> = {
  "src/cli": ["*"],
  "src/main": ["*"],
  // bng doctor: its own probes (ffi/ through the health frame channels and a few interface facts), the run plan, the control socket.
  "src/doctor": ["src/config", "src/control", "src/dataplane", "src/health", "src/bpf", "src/ha", "ffi"],
  "src/control": ["src/config", "src/dataplane", "src/health", "src/host", "src/ha", "src/bpf", "src/log", "src/errno.ts", "src/version.ts", "src/runtime"],
  "src/ha": ["src/config", "src/dataplane"],
  "src/bpf": ["src/dataplane"],
  "src/host": ["ffi", "src/config", "src/dataplane", "src/bpf", "src/log"],
  "src/health": ["src/config", "src/dataplane", "src/bpf", "src/log", "ffi"],
  "src/dataplane": ["src/config"],
  "src/config": ["src/version.ts"],
  "src/log": [],
  "src/snmp": ["src/control"],
  "src/runtime": [],
  "src/errno.ts": [],
  "src/version.ts": [],
  ffi: ["src/dataplane", "src/config", "src/errno.ts"],
};

/** Health files that run probes over sockets; the rest of src/health is the state machine and its scheduler. */
const HEALTH_PROBES = ["ping.ts", "tcpopen.ts", "readiness.ts", "system-probes.ts", "http.ts", "agent.ts", "arp-probe.ts", "dsr-probe.ts", "frame-channel.ts", "agent-server.ts"];

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return sourceFiles(path);
    return name.endsWith(".ts") ? [path] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  const specifiers = [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^"'\n]*?from\s+["']([^"']+)["']/g), ...text.matchAll(/import\(\s*["']([^"']+)["']\s*\)/g)].map((match) => match[1]!);
  return specifiers.filter((specifier) => specifier.startsWith(".")).map((specifier) => relative(ROOT, resolve(ROOT, dirname(file), specifier)));
}

/** The entry of ALLOWED a path belongs to: the longest folder or file name it starts with. */
function layerOf(path: string): string | undefined {
  return Object.keys(ALLOWED)
    .filter((layer) => path === layer || path.startsWith(`${layer}/`))
    .sort((a, b) => b.length - a.length)[0];
}

/** Why `file` may not import `target`, or undefined when it may. */
function ruleBroken(file: string, target: string): string | undefined {
  const layer = layerOf(file);
  if (layer === undefined) return `${file}: in no layer of this test; add its folder to ALLOWED`;
  const allowed = ALLOWED[layer]!;
  const targetLayer = layerOf(target);
  if (targetLayer === layer || allowed.includes("*")) return undefined;
  if (targetLayer === undefined || !allowed.includes(targetLayer)) return `${file} imports ${target}: ${layer} may import only ${allowed.join(", ") || "nothing outside itself"}`;
  if (layer === "src/health" && targetLayer === "ffi" && !HEALTH_PROBES.some((probe) => file === `src/health/${probe}`)) {
    return `${file} imports ${target}: only the health probes (${HEALTH_PROBES.join(", ")}) use ffi/`;
  }
  return undefined;
}

function violations(): string[] {
  return [...sourceFiles("src"), ...sourceFiles("ffi")].flatMap((file) => importsOf(file).flatMap((target) => ruleBroken(file, target) ?? []));
}

describe("the layers", () => {
  test("no import runs back up", () => {
    expect(violations()).toEqual([]);
  });

  test("the check tells imports that run back up from those that run down", () => {
    expect(ruleBroken("src/dataplane/process.ts", "ffi/libc.ts")).toContain("src/dataplane may import only src/config");
    expect(ruleBroken("src/config/parser.ts", "src/control/daemon.ts")).toBeDefined();
    expect(ruleBroken("src/health/state.ts", "ffi/icmp.ts")).toContain("only the health probes");
    expect(ruleBroken("src/health/ping.ts", "ffi/icmp.ts")).toBeUndefined();
    expect(ruleBroken("src/main/worker.ts", "ffi/packet-io/open.ts")).toBeUndefined();
    expect(importsOf("src/main/worker.ts")).toContain("ffi/packet-io/open.ts");
  });
});

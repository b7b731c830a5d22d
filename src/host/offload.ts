// Receive coalescing (GRO, LRO, hardware GRO) off on bng's interface while it runs.
//
// A coalesced frame can be far longer than the MTU: it would not fit a slot, and forwarded as
// it is, the driver would refuse it. The settings are changed with the `ethtool` command (a
// documented dependency) and the previous ones put back at exit.
import { runCommand, type CommandResult } from "./command.ts";

/** ethtool's feature name (as `ethtool -k` prints it) -> the name `ethtool -K` takes. */
const COALESCING_FEATURES: ReadonlyArray<readonly [feature: string, keyword: string]> = [
  ["generic-receive-offload", "gro"],
  ["large-receive-offload", "lro"],
  ["rx-gro-hw", "rx-gro-hw"],
];

export interface FeatureState {
  readonly on: boolean;
  /** The driver does not let this feature change. */
  readonly fixed: boolean;
}

export interface CoalescingChange {
  readonly ifname: string;
  /** Features bng turned off (and `restore()` turns back on), e.g. ["generic-receive-offload"]. */
  readonly turnedOff: readonly string[];
  /** Features still on after the attempt (fixed by the driver or refused): frames may exceed the MTU. */
  readonly stillOn: readonly string[];
  /** Turns `turnedOff` back on; returns the features it restored. Safe to call twice. */
  restore(): readonly string[];
}

function runEthtool(args: readonly string[]): CommandResult {
  try {
    const result = runCommand(["ethtool", ...args]);
    return { ...result, stderr: result.stderr.trim() };
  } catch (error) {
    throw new Error(`${(error as Error).message}; install it (e.g. apt install ethtool) or turn GRO/LRO off yourself`);
  }
}

/** Parses `ethtool -k` output: "generic-receive-offload: on" / "large-receive-offload: off [fixed]". */
export function parseFeatures(text: string): Map<string, FeatureState> {
  const features = new Map<string, FeatureState>();
  for (const line of text.split("\n")) {
    const match = /^\s*([\w-]+):\s+(on|off)(\s+\[(?:requested \w+ )?fixed\])?/.exec(line);
    if (match) features.set(match[1]!, { on: match[2] === "on", fixed: match[3] !== undefined });
  }
  return features;
}

export function readFeatures(ifname: string): Map<string, FeatureState> {
  const result = runEthtool(["-k", ifname]);
  if (result.exitCode !== 0) {
    throw new Error(`ethtool -k ${ifname} failed (exit ${result.exitCode}): ${result.stderr || "no message"}; see \`ip link\``);
  }
  return parseFeatures(result.stdout);
}

function setFeatures(ifname: string, keywords: readonly string[], value: "on" | "off"): void {
  if (keywords.length === 0) return;
  // The outcome is judged by reading the features back: ethtool exits non-zero when only some
  // of them changed.
  runEthtool(["-K", ifname, ...keywords.flatMap((keyword) => [keyword, value])]);
}

function coalescingOn(features: Map<string, FeatureState>): string[] {
  return COALESCING_FEATURES.filter(([feature]) => features.get(feature)?.on === true).map(([feature]) => feature);
}

function keywordsOf(features: readonly string[]): string[] {
  return COALESCING_FEATURES.filter(([feature]) => features.includes(feature)).map(([, keyword]) => keyword);
}

/**
 * Turns GRO, LRO and hardware GRO off on `ifname`; says what it changed and what it could not.
 * `beforeTurningOff` gets the features that are on just before they are turned off.
 */
export function disableReceiveCoalescing(ifname: string, beforeTurningOff: (features: readonly string[]) => void = () => {}): CoalescingChange {
  const wereOn = coalescingOn(readFeatures(ifname));
  if (wereOn.length > 0) beforeTurningOff(wereOn);
  setFeatures(ifname, keywordsOf(wereOn), "off");
  const stillOn = coalescingOn(readFeatures(ifname));
  const turnedOff = wereOn.filter((feature) => !stillOn.includes(feature));
  let restored = false;
  return {
    ifname,
    turnedOff,
    stillOn,
    restore(): readonly string[] {
      if (restored) return [];
      restored = true;
      return turnCoalescingOn(ifname, turnedOff);
    },
  };
}

/**
 * Turns `features` (names as `ethtool -k` prints them) back on, as restore() does; also what
 * repairs the box after a bng that turned them off was killed. Returns those now on.
 */
export function turnCoalescingOn(ifname: string, features: readonly string[]): readonly string[] {
  setFeatures(ifname, keywordsOf(features), "on");
  const nowOn = coalescingOn(readFeatures(ifname));
  return features.filter((feature) => nowOn.includes(feature));
}

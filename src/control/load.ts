// A configuration file as `bng run` and a reload take it: loaded, checked, and planned (what the
// box needs), or every reason it cannot run, each diagnostic formatted with its source line.
import { formatDiagnostic, loadConfigFile } from "../config/index.ts";
import type { Config } from "../config/model.ts";
import { planRun, type RunPlan } from "./plan.ts";

/** A start that cannot happen, with every reason (one diagnostic each). */
export class StartError extends Error {
  constructor(
    message: string,
    readonly details: string[] = [],
  ) {
    super(message);
  }
}

export type LoadedForRun = { ok: true; config: Config; plan: RunPlan } | { ok: false; message: string; details: string[] };

export function loadForRun(path: string): LoadedForRun {
  const result = loadConfigFile(path);
  if (!result.ok) {
    const count = result.errors.length;
    return { ok: false, message: `${path}: ${count} configuration error${count === 1 ? "" : "s"}`, details: result.errors.map((error) => formatDiagnostic(error, result.source)) };
  }
  const planned = planRun(result.config);
  if (!planned.ok) return { ok: false, message: `${path} cannot run`, details: planned.errors };
  return { ok: true, config: result.config, plan: planned.plan };
}

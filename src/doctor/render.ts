// bng doctor's report for people: a checklist per target of each server, ✓ or ✗ (– for a check
// that did not apply), the fix under every failure, and a last line that says what it all means.
import type { CheckResult, DoctorReport, TargetReport } from "./findings.ts";

const MARK = { pass: "✓", fail: "✗", skip: "–" } as const;

function checkLines(checks: readonly CheckResult[], indent: string): string[] {
  return checks.flatMap((check) => [`${indent}${MARK[check.status]} ${check.text}`, ...(check.fix ? [`${indent}  fix: ${check.fix}`] : [])]);
}

function targetTitle(target: TargetReport): string {
  const notes = [...(target.backup ? ["backup"] : []), ...(target.enabled ? [] : ["disabled"])];
  return `  target ${target.id}  ${target.ipaddr}:${target.port}${notes.length > 0 ? ` (${notes.join(", ")})` : ""}`;
}

export function renderDoctorReport(report: DoctorReport): string {
  const running = report.bng_pid === null ? "bng is not running" : `bng is running (pid ${report.bng_pid}); its traffic is not touched`;
  const lines = [`bng doctor: ${report.config} on ${report.interface} (${report.mac}); ${running}`];
  for (const real of report.reals) {
    if (real.answered_by_doctor) lines.push(`  ${real.address} is on no interface yet (bng run adds it): the doctor answered ARP for it while it ran`);
  }
  for (const server of report.servers) {
    lines.push("", `server ${server.id}  ${server.vip}:${server.port} ${server.protocol}`);
    lines.push(...checkLines(server.checks, "  "));
    if (server.targets.length === 0) lines.push("  – no registered target");
    for (const target of server.targets) lines.push(targetTitle(target), ...checkLines(target.checks, "    "));
  }
  if (report.gateway) lines.push("", `gateway  ${report.gateway.ipaddr}`, ...checkLines(report.gateway.checks, "  "));
  lines.push("", summary(report));
  return lines.join("\n");
}

function summary(report: DoctorReport): string {
  if (report.ok) return `all ${report.checks} checks passed`;
  const failing = report.servers.flatMap((server) => server.targets.filter((target) => target.checks.some((check) => check.status === "fail")).map((target) => target.id));
  const targets = [...new Set(failing)];
  const which = targets.length === 0 ? "" : ` (target${targets.length === 1 ? "" : "s"} ${targets.join(", ")})`;
  return `${report.failed} of ${report.checks} checks failed${which}: apply the fixes and run bng doctor again`;
}

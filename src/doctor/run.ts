// `bng doctor [FILE]`: the configuration (FILE; without one, the running bng's, or
// /etc/bng.conf when none answers), the checks on the wire, the report. Exit 0 only when every
// check passed; 1 on a failed check, a configuration bng would not run, or an interface it
// cannot open.
//
// Before `bng run` and beside a running bng alike the doctor uses its own packet sockets
// (link.ts): a running bng is asked only for its pid and configuration, and its traffic, health
// checks and sessions are never touched.
import { formatDiagnostic, parseConfig, loadConfigFile, type LoadResult } from "../config/index.ts";
import { vipNetwork } from "../config/model.ts";
import { formatMac } from "../dataplane/frame.ts";
import { planRun } from "../control/plan.ts";
import { ControlConnectError, sendControlRequest } from "../control/socket-client.ts";
import type { StatusReport } from "../control/status.ts";
import { buildReport } from "./findings.ts";
import { DoctorLink } from "./link.ts";
import { DEFAULT_TIMING, observe, type Timing } from "./observe.ts";
import { renderDoctorReport } from "./render.ts";
import { doctorSubjects } from "./subjects.ts";

export interface DoctorOptions {
  /** The file named on the command line, if any. */
  file: string | undefined;
  /** What is read when no file is named and no bng answers. */
  defaultFile: string;
  socketPath: string;
  json: boolean;
  timing?: Timing;
}

interface RunningBng {
  pid: number;
  /** The running configuration in BalanceNG syntax (`show config`). */
  config: string;
  path: string;
}

/** The bng answering on the socket, or undefined when none does. */
async function runningBng(socketPath: string, wantConfig: boolean): Promise<RunningBng | undefined> {
  try {
    const status = await sendControlRequest(socketPath, { cmd: "status" });
    if (!status.ok) return undefined;
    const report = status.result as StatusReport;
    const shown = wantConfig ? await sendControlRequest(socketPath, { cmd: "show", what: "config" }) : undefined;
    return { pid: report.pid, path: report.config, config: shown?.ok ? String(shown.result) : "" };
  } catch (error) {
    if (error instanceof ControlConnectError) return undefined;
    throw error;
  }
}

function loadConfig(options: DoctorOptions, bng: RunningBng | undefined): { name: string; loaded: LoadResult } {
  if (options.file === undefined && bng !== undefined) {
    const name = `${bng.path} (as bng runs it)`;
    return { name, loaded: { ...parseConfig(bng.config, name), source: bng.config } };
  }
  const path = options.file ?? options.defaultFile;
  return { name: path, loaded: loadConfigFile(path) };
}

export async function runDoctor(options: DoctorOptions): Promise<number> {
  const bng = await runningBng(options.socketPath, options.file === undefined);
  const { name, loaded } = loadConfig(options, bng);
  if (!loaded.ok) {
    for (const diagnostic of loaded.errors) console.error(formatDiagnostic(diagnostic, loaded.source));
    console.error(`bng doctor: ${name} has errors; \`bng check\` lists them too`);
    return 1;
  }
  const planned = planRun(loaded.config);
  if (!planned.ok) {
    console.error(`bng doctor: \`bng run\` refuses ${name}:`);
    for (const reason of planned.errors) console.error(`  ${reason}`);
    return 1;
  }
  const subjects = doctorSubjects(loaded.config, planned.plan);
  let link: DoctorLink;
  try {
    link = new DoctorLink(subjects.ifname, subjects.reals);
  } catch (error) {
    console.error(`bng doctor: cannot open ${subjects.ifname}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  let report;
  try {
    const seen = await observe(subjects, link, options.timing ?? DEFAULT_TIMING);
    if (seen.sendFailure !== undefined) {
      console.error(`bng doctor: cannot send on ${subjects.ifname}: ${seen.sendFailure}; is the interface up (\`ip link show ${subjects.ifname}\`)?`);
      return 1;
    }
    report = buildReport(subjects, seen, {
      config: name,
      bngPid: bng?.pid,
      ownMac: formatMac(link.ownMac),
      reals: subjects.reals.map((address) => ({ address, answeredByDoctor: link.answersFor(address) })),
      networkOf: (ip) => vipNetwork(loaded.config, ip),
    });
  } finally {
    link.close();
  }
  console.log(options.json ? JSON.stringify(report, null, 2) : renderDoctorReport(report));
  return report.ok ? 0 : 1;
}

// The canonical BalanceNG form of a configuration, as BalanceNG's `save` writes it: a dated
// header, one parameter per line inside blocks, each kind's register/enable lines after its
// blocks, and a trailer. Defaults are left out, so reading the output back gives the same model.
import { quote, quoteIfNeeded } from "./lexer.ts";
import { DEFAULT_SESSION_TIMEOUT_S, ipToString, type Config, type IntervalCheck, type Lifecycle, type RawStatement } from "./model.ts";
import { SETTINGS } from "./schema.ts";
import { VERSION } from "../version.ts";

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** C's ctime(3) layout in local time, e.g. `Fri Sep 28 21:38:37 2007` (day padded with a space). */
export function ctime(date: Date): string {
  const two = (n: number): string => String(n).padStart(2, "0");
  const time = `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
  return `${DAYS[date.getDay()]} ${MONTHS[date.getMonth()]} ${String(date.getDate()).padStart(2, " ")} ${time} ${date.getFullYear()}`;
}

/** `1,2,3,7` as `1-3,7`: runs of three or more consecutive ids become ranges, order kept. */
export function formatIdList(ids: readonly number[]): string {
  const parts: string[] = [];
  for (let start = 0; start < ids.length; ) {
    let end = start;
    while (end + 1 < ids.length && ids[end + 1] === ids[end]! + 1) end++;
    if (end - start >= 2) {
      parts.push(`${ids[start]}-${ids[end]}`);
    } else {
      for (let i = start; i <= end; i++) parts.push(String(ids[i]));
    }
    start = end + 1;
  }
  return parts.join(",");
}

function block(head: string, params: (string | undefined)[]): string[] {
  return [`${head} {`, ...params.filter((line): line is string => line !== undefined), "}"];
}

function optional<T>(value: T | undefined, line: (value: T) => string): string | undefined {
  return value === undefined ? undefined : line(value);
}

function interval(keyword: string, check: IntervalCheck | undefined): string | undefined {
  return optional(check, (c) => `${keyword} ${c.intervalS},${c.timeoutS}`);
}

/** A statement or parameter bng keeps as written: its words, strings quoted again. */
function raw(statement: RawStatement): string {
  return [statement.keyword, ...statement.args.map((arg) => (arg.quoted ? quote(arg.text) : arg.text))].join(" ");
}

function lifecycleLines(kind: string, defs: readonly (Lifecycle & { id: number | undefined })[]): string[] {
  const lines: string[] = [];
  for (const [verb, flag] of [["register", "registered"], ["enable", "enabled"]] as const) {
    const ids = defs.filter((def) => def[flag] && def.id !== undefined).map((def) => def.id!);
    if (ids.length > 0) lines.push(`${verb} ${kind}${ids.length > 1 ? "s" : ""} ${formatIdList(ids)}`);
  }
  return lines;
}

export function printConfig(config: Config, takenAt: Date = new Date()): string {
  const lines = [`// configuration taken ${ctime(takenAt)}`, `// bng ${VERSION}`];
  if (config.modules.length > 0) lines.push(`modules ${config.modules.join(",")}`);
  for (const key of config.explicitSettings) {
    const name = Object.keys(SETTINGS).find((candidate) => SETTINGS[candidate]!.key === key);
    const value = config.settings[key];
    if (name !== undefined && value !== undefined) lines.push(`set ${name} ${SETTINGS[name]!.format?.(value) ?? value}`);
  }
  for (const def of config.interfaces) {
    if (def.id === undefined) lines.push(`interface ${def.name}`);
    else lines.push(...block(`interface ${def.id}`, [`name ${quoteIfNeeded(def.name)}`, optional(def.access, (a) => `access ${a}`), ...def.unimplemented.map(raw)]));
  }
  lines.push(...lifecycleLines("interface", config.interfaces));
  for (const net of config.networks) {
    lines.push(
      ...block(`network ${net.id}`, [
        optional(net.name, (n) => `name ${quote(n)}`),
        `addr ${ipToString(net.addr)}`,
        `mask ${ipToString(net.mask)}`,
        optional(net.real, (ip) => `real ${ipToString(ip)}`),
        optional(net.virt, (ip) => `virt ${ipToString(ip)}`),
        optional(net.nat, (nat) => `nat ${nat}`),
        optional(net.interfaceRef, (ref) => `interface ${quoteIfNeeded(ref)}`),
        ...net.unimplemented.map(raw),
      ]),
    );
  }
  lines.push(...lifecycleLines("network", config.networks));
  if (config.gateway) lines.push(...block("gateway", [`ipaddr ${ipToString(config.gateway.ipaddr)}`, interval("ping", config.gateway.ping), ...config.gateway.unimplemented.map(raw)]));
  const vrrp = config.vrrp;
  if (vrrp) {
    lines.push(
      ...block("vrrp", [
        `vrid ${vrrp.vrid}`,
        `priority ${vrrp.priority}`,
        `network ${vrrp.networkId}`,
        vrrp.intervalS !== 1 ? `interval ${vrrp.intervalS}` : undefined,
        vrrp.preempt ? undefined : "preempt disable",
        optional(vrrp.sync, (ip) => `sync ${ipToString(ip)}`),
        optional(vrrp.key, (key) => `key ${quote(key)}`),
        ...vrrp.unimplemented.map(raw),
      ]),
    );
  }
  for (const server of config.servers) {
    lines.push(
      ...block(`server ${server.id}`, [
        optional(server.name, (n) => `name ${quote(n)}`),
        `ipaddr ${ipToString(server.ipaddr)}`,
        `port ${server.port}`,
        `protocol ${server.protocol}`,
        `targets ${formatIdList(server.targets)}`,
        server.backup.length > 0 ? `backup ${formatIdList(server.backup)}` : undefined,
        server.method !== "rr" ? `method ${server.method}` : undefined,
        server.sessionTimeoutS !== DEFAULT_SESSION_TIMEOUT_S ? `timeout ${server.sessionTimeoutS}` : undefined,
        server.persistence !== "client" ? `persistence ${server.persistence}` : undefined,
        server.downPolicy !== "reschedule" ? `downpolicy ${server.downPolicy}` : undefined,
        ...server.unimplemented.map(raw),
      ]),
    );
  }
  lines.push(...lifecycleLines("server", config.servers));
  for (const target of config.targets) {
    lines.push(
      ...block(`target ${target.id}`, [
        optional(target.name, (n) => `name ${quote(n)}`),
        `ipaddr ${ipToString(target.ipaddr)}`,
        target.port !== 0 ? `port ${target.port}` : undefined,
        `protocol ${target.protocol}`,
        ...target.tcpopen.map((check) => `tcpopen ${check.port},${check.intervalS},${check.timeoutS}`),
        interval("ping", target.ping),
        interval("arp", target.arp),
        optional(target.agent, (c) => `agent ${c.port},${c.intervalS},${c.timeoutS}`),
        optional(target.script, (c) => `script ${quote(c.path)},${c.intervalS},${c.timeoutS}`),
        optional(target.http, (c) => `http ${quote(c.path)},${c.port},${c.intervalS},${c.timeoutS}`),
        ...target.dsrcheck.map((check) => `dsrcheck ${check.port},${check.intervalS},${check.timeoutS}`),
        target.dsr ? "dsr enable" : undefined,
        target.weight !== 1 ? `weight ${target.weight}` : undefined,
        optional(target.alert, (path) => `alert ${quote(path)}`),
        ...target.unimplemented.map(raw),
      ]),
    );
  }
  lines.push(...lifecycleLines("target", config.targets));
  // Last, where everything they might name is defined.
  lines.push(...config.unimplemented.map(raw));
  lines.push("// end of configuration");
  return `${lines.join("\n")}\n`;
}

/** `1 server`, `2 servers`. */
export function counted(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** One line for `bng check`: `1 interface, 1 network, 1 server, 2 targets, DSR`. */
export function summarizeConfig(config: Config): string {
  const parts = [counted(config.interfaces.length, "interface"), counted(config.networks.length, "network")];
  if (config.gateway) parts.push("1 gateway");
  parts.push(counted(config.servers.length, "server"), counted(config.targets.length, "target"));
  const dsr = config.targets.filter((target) => target.dsr).length;
  if (config.targets.length > 0) parts.push(dsr === config.targets.length ? "DSR" : dsr === 0 ? "NAT" : "DSR and NAT");
  return parts.join(", ");
}

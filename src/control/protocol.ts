// The control socket's wire format: newline-delimited JSON, one request per line, one reply
// per request. docs/control.md documents every request and reply.
import * as v from "valibot";

export const DEFAULT_SOCKET_PATH = "/run/bng/bng.sock";
/** A request line longer than this is refused and the connection closed. */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** A client that sends nothing for this long is disconnected (its bytes and bng's replies restart the wait; none runs while its request is handled). */
export const IDLE_CLIENT_MS = 10_000;

const ObjectKind = v.picklist(["target", "server"]);
/** A dotted IPv4 address as text (the CLI checks `--client` with it before asking). */
export const IPV4_TEXT = v.pipe(v.string(), v.ipv4());

export const RequestSchema = v.variant("cmd", [
  v.strictObject({ cmd: v.literal("status") }),
  v.strictObject({ cmd: v.literal("show"), what: v.picklist(["servers", "targets", "sessions", "networks", "parameters", "config", "vrrp"]),
    server: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
    target: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
    client: v.optional(IPV4_TEXT),
    limit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1_000_000))) }),
  v.strictObject({ cmd: v.literal("enable"), kind: ObjectKind, id: v.pipe(v.number(), v.integer(), v.minValue(1)) }),
  v.strictObject({ cmd: v.literal("disable"), kind: ObjectKind, id: v.pipe(v.number(), v.integer(), v.minValue(1)) }),
  v.strictObject({ cmd: v.literal("reload"), file: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(4096))) }),
  v.strictObject({ cmd: v.literal("stop") }),
  v.strictObject({ cmd: v.literal("metrics") }),
  v.strictObject({ cmd: v.literal("clear"), what: v.literal("counters") }),
  v.strictObject({ cmd: v.literal("explain"), client: IPV4_TEXT,
    port: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65535))),
    server: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))) }),
]);

export type ControlRequest = v.InferOutput<typeof RequestSchema>;

export type ControlReply =
  | { ok: true; result: unknown }
  | { ok: false; error: string; errors?: string[] };

/** Parses one request line; every failure becomes an error reply, never an exception. */
export function parseRequest(line: string): { ok: true; request: ControlRequest } | { ok: false; reply: ControlReply } {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return { ok: false, reply: { ok: false, error: "request is not valid JSON; send one JSON object per line, e.g. {\"cmd\":\"status\"}" } };
  }
  const parsed = v.safeParse(RequestSchema, json);
  if (parsed.success) return { ok: true, request: parsed.output };
  const issues = parsed.issues.map((issue) => {
    const path = issue.path?.map((item) => String(item.key)).join(".");
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  return { ok: false, reply: { ok: false, error: `invalid request: ${issues.join("; ")}` } };
}

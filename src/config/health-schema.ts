// The health checks' values: comma tuples read from their text (`80,3,10`), a path before
// some of them (`"/healthz",80,3,10`), every message quoting what was written. All checks
// share the interval and timeout rules: a second to a day, the timeout no shorter than the
// interval (past 2^31 ms a timer would fire every millisecond).
import * as v from "valibot";
import { excerpt } from "./errors.ts";
import { MAX_CHECK_SECONDS } from "./model.ts";
import { readTuple } from "./values.ts";

type Built<T> = T | { problem: string };

const COUNTS: Record<number, string> = { 2: "two", 3: "three" };

function isProblem<T>(built: Built<T>): built is { problem: string } {
  return typeof built === "object" && built !== null && "problem" in built;
}

/** `names` (`PORT,INTERVAL,TIMEOUT`) read from `text`, checked by `build`, or the first problem. */
function readChecked<T>(text: string, names: string, example: string, build: (numbers: number[], quoted: string) => Built<T>): Built<T> {
  const count = names.split(",").length;
  const numbers = readTuple(text, count);
  const quoted = `\`${excerpt(text)}\``;
  if (numbers === undefined) return { problem: `expected ${COUNTS[count]} numbers ${names}${count === 2 ? " (seconds)" : ""}, e.g. \`${example}\`, found ${quoted}` };
  return build(numbers, quoted);
}

function intervalAndTimeout(intervalS: number, timeoutS: number, quoted: string): Built<{ intervalS: number; timeoutS: number }> {
  if (!(intervalS >= 1 && intervalS <= MAX_CHECK_SECONDS)) {
    return { problem: `bad interval in ${quoted}: expected an interval of 1-${MAX_CHECK_SECONDS} seconds (a second to a day)` };
  }
  if (timeoutS < intervalS) return { problem: `bad timeout in ${quoted}: expected a timeout at least as long as the interval` };
  if (timeoutS > MAX_CHECK_SECONDS) return { problem: `bad timeout in ${quoted}: expected a timeout of at most ${MAX_CHECK_SECONDS} seconds (a day)` };
  return { intervalS, timeoutS };
}

/** PORT,INTERVAL,TIMEOUT: a port 1-65535 (0 never answers), then the interval and timeout. */
function portIntervalTimeout([port, intervalS, timeoutS]: number[], quoted: string, names = "PORT,INTERVAL,TIMEOUT"): Built<{ port: number; intervalS: number; timeoutS: number }> {
  if (!(port! >= 1 && port! <= 65535)) return { problem: `expected a port 1-65535 as the first number of ${names}, found ${quoted}` };
  const timing = intervalAndTimeout(intervalS!, timeoutS!, quoted);
  return isProblem(timing) ? timing : { port: port!, ...timing };
}

/** A schema over `Input` that `build` turns into the value, or into the issue it reports. */
function built<Input, T>(input: v.GenericSchema<unknown, Input>, build: (value: Input) => Built<T>) {
  return v.pipe(
    input,
    v.rawTransform<Input, T>(({ dataset, addIssue, NEVER }) => {
      const result = build(dataset.value);
      if (!isProblem(result)) return result;
      addIssue({ message: result.problem });
      return NEVER;
    }),
  );
}

/** `ping I,T`, `arp I,T`. */
export function IntervalCheck(keyword: string) {
  return built(v.string(), (text) => readChecked(text, "INTERVAL,TIMEOUT", `${keyword} 3,8`, ([intervalS, timeoutS], quoted) => intervalAndTimeout(intervalS!, timeoutS!, quoted)));
}

/** `tcpopen P,I,T`, `dsrcheck P,I,T`. */
export function PortCheck(keyword: string) {
  return built(v.string(), (text) => readChecked(text, "PORT,INTERVAL,TIMEOUT", `${keyword} 80,3,10`, portIntervalTimeout));
}

/** `agent P,I,T`: 439 is bngagent's port. */
export const AgentCheck = built(v.string(), (text) => readChecked(text, "PORT,INTERVAL,TIMEOUT", "agent 439,3,10", portIntervalTimeout));

const PathTuple = v.object({ path: v.string(), tuple: v.string() });

/** An absolute path without control characters: bng runs it as a program from `/`. */
function programPath(path: string, what: string): { problem: string } | undefined {
  if (path.startsWith("/") && !/[\u0000-\u001f\u007f]/.test(path) && path.length <= 4096) return undefined;
  return { problem: `expected ${what} as an absolute path (starting with /), found "${excerpt(path)}"` };
}

/** `script "PATH",I,T`. */
export const ScriptCheck = built(PathTuple, ({ path, tuple }) => {
  const problem = programPath(path, "the script");
  if (problem) return problem;
  const timing = readChecked(tuple, "INTERVAL,TIMEOUT", 'script "/usr/local/bin/check",3,10', ([intervalS, timeoutS], quoted) => intervalAndTimeout(intervalS!, timeoutS!, quoted));
  return isProblem(timing) ? timing : { path, ...timing };
});

/** `http "PATH",P,I,T`: PATH is the request's path, sent as written. */
export const HttpCheck = built(PathTuple, ({ path, tuple }) => {
  // A request target: visible ASCII without spaces, from the root (RFC 9112's origin-form).
  if (!/^\/[\x21-\x7e]{0,2047}$/.test(path)) return { problem: `expected the request path, starting with / and without spaces, e.g. "/healthz", found "${excerpt(path)}"` };
  const check = readChecked(tuple, "PORT,INTERVAL,TIMEOUT", 'http "/healthz",80,3,10', portIntervalTimeout);
  return isProblem(check) ? check : { path, ...check };
});

/** `alert "PATH"`. */
export const AlertPath = built(v.string(), (path) => programPath(path, "the alert script") ?? path);

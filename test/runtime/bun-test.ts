// `bun:test` on Deno: deno.json maps the specifier here, so the same test files run on both
// runtimes. The part bng's tests use: describe (and describe.each), test (and test.each),
// beforeAll, afterAll, beforeEach, afterEach, over Deno.test; expect is jest's (the npm package
// `expect`, the matchers Bun's expect follows) with what Bun adds that the tests use: a message
// as expect's second argument, and the matcher toStartWith.
//
// Each test is one Deno.test named "describe > ... > test", run in the order registered. A
// scope's beforeAll hooks run before its first test, its afterAll hooks after its last (with
// `deno test --filter`, a scope whose last test is filtered out keeps its afterAll unrun).
import { expect as jestExpect } from "expect";

type Hook = () => unknown;
type Body = (...args: never[]) => unknown;

/** The part of Deno's API used here (typed locally: the project type-checks against Bun's types). */
interface DenoTesting {
  test(definition: { name: string; fn: () => Promise<void>; sanitizeOps: boolean; sanitizeResources: boolean; sanitizeExit: boolean }): void;
}

const deno = (globalThis as unknown as { Deno: DenoTesting }).Deno;

interface Scope {
  readonly name: string;
  readonly parent: Scope | undefined;
  readonly beforeAll: Hook[];
  readonly afterAll: Hook[];
  readonly beforeEach: Hook[];
  readonly afterEach: Hook[];
  /** Tests registered in this scope and those inside it, and how many of them have run. */
  tests: number;
  finished: number;
  started: boolean;
}

function newScope(name: string, parent: Scope | undefined): Scope {
  return { name, parent, beforeAll: [], afterAll: [], beforeEach: [], afterEach: [], tests: 0, finished: 0, started: false };
}

let current = newScope("", undefined);

/** The scopes from the file's down to `scope`. */
function chainOf(scope: Scope): Scope[] {
  const chain: Scope[] = [];
  for (let at: Scope | undefined = scope; at !== undefined; at = at.parent) chain.unshift(at);
  return chain;
}

async function runAll(hooks: readonly Hook[]): Promise<void> {
  for (const hook of hooks) await hook();
}

function registerTest(name: string, body: () => unknown): void {
  const chain = chainOf(current);
  for (const scope of chain) scope.tests++;
  deno.test({
    name: [...chain.map((scope) => scope.name).filter((part) => part !== ""), name].join(" > "),
    // Servers, sockets and workers that a beforeAll opens outlive the test that started them.
    sanitizeOps: false,
    sanitizeResources: false,
    sanitizeExit: false,
    async fn() {
      try {
        for (const scope of chain) {
          if (scope.started) continue;
          scope.started = true;
          await runAll(scope.beforeAll);
        }
        for (const scope of chain) await runAll(scope.beforeEach);
        await body();
      } finally {
        for (const scope of [...chain].reverse()) await runAll(scope.afterEach);
        for (const scope of [...chain].reverse()) {
          scope.finished++;
          if (scope.finished === scope.tests) await runAll(scope.afterAll);
        }
      }
    },
  });
}

/** `name` with printf-style placeholders (%s %d %i %p %j %o %%) filled from `values`, as bun:test names each case. */
function caseName(name: string, values: readonly unknown[]): string {
  let next = 0;
  return name.replace(/%[sdipjo%]/g, (placeholder) => {
    if (placeholder === "%%") return "%";
    const value = values[next++];
    if (placeholder === "%s") return String(value);
    if (placeholder === "%d" || placeholder === "%i") return String(Number(value));
    return JSON.stringify(value);
  });
}

/** A table's row as the arguments of its case: an array row is spread, anything else is one argument. */
function rowArguments(row: unknown): unknown[] {
  return Array.isArray(row) ? row : [row];
}

function eachOf(register: (name: string, body: () => unknown) => void) {
  return (table: readonly unknown[]) => (name: string, body: Body) => {
    for (const row of table) {
      const args = rowArguments(row);
      register(caseName(name, args), () => (body as (...args: unknown[]) => unknown)(...args));
    }
  };
}

export function test(name: string, body: () => unknown, _timeoutMs?: number): void {
  registerTest(name, body);
}
test.each = eachOf(registerTest);

export const it = test;

function describeScope(name: string, body: () => void): void {
  const parent = current;
  current = newScope(name, parent);
  try {
    body();
  } finally {
    current = parent;
  }
}

export function describe(name: string, body: () => void): void {
  describeScope(name, body);
}
describe.each = eachOf((name, body) => describeScope(name, body as () => void));

export function beforeAll(hook: Hook): void {
  current.beforeAll.push(hook);
}

export function afterAll(hook: Hook): void {
  current.afterAll.push(hook);
}

export function beforeEach(hook: Hook): void {
  current.beforeEach.push(hook);
}

export function afterEach(hook: Hook): void {
  current.afterEach.push(hook);
}

jestExpect.extend({
  toStartWith(received: unknown, prefix: string) {
    const pass = typeof received === "string" && received.startsWith(prefix);
    return { pass, message: () => `expected ${JSON.stringify(received)} ${pass ? "not " : ""}to start with ${JSON.stringify(prefix)}` };
  },
});

/** `matchers` whose failures (thrown, or rejected for .resolves/.rejects) start with `message`. */
function withMessage<T extends object>(matchers: T, message: string): T {
  const prefixed = (error: unknown) => {
    if (error instanceof Error) error.message = `${message}\n\n${error.message}`;
    return error;
  };
  return new Proxy(matchers, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (typeof value === "object" && value !== null) return withMessage(value, message);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        try {
          const result: unknown = value.apply(target, args);
          return result instanceof Promise ? result.catch((error: unknown) => Promise.reject(prefixed(error))) : result;
        } catch (error) {
          throw prefixed(error);
        }
      };
    },
  });
}

/** jest's expect, also taking Bun's second argument: a message shown when the assertion fails. */
export const expect = Object.assign((value: unknown, message?: string) => {
  const matchers = jestExpect(value);
  return message === undefined ? matchers : withMessage(matchers, message);
}, jestExpect);

// The suites' shared set-up: a lab with bng running in it, torn down after the suite.
import { afterAll, beforeAll } from "bun:test";
import { BngInLab, ENGINE, Scratch } from "./bng.ts";
import { createLab, type Lab } from "./lab.ts";

export interface LabWithBng {
  readonly lab: Lab;
  readonly scratch: Scratch;
  /** The running bng; tests that restart it assign the new one. */
  bng: BngInLab;
}

/**
 * Registers beforeAll/afterAll that build a lab, start bng on `config` (the text of a
 * configuration file, run on the engine under test) and wait for `targets` to be up, and tear
 * all of it down afterwards, also when a test failed.
 */
export function labWithBng(options: { prefix: string; clients: number; config: string; targets?: number[]; bngQueues?: number }): LabWithBng {
  const fixture = {} as { lab: Lab; scratch: Scratch; bng: BngInLab };
  beforeAll(async () => {
    fixture.scratch = new Scratch();
    fixture.lab = await createLab({ prefix: options.prefix, clients: options.clients, ...(options.bngQueues === undefined ? {} : { bngQueues: options.bngQueues }) });
    fixture.bng = await BngInLab.start(fixture.lab, fixture.scratch.writeConfig("bng.conf", options.config), `${fixture.scratch.dir}/bng.sock`);
    // The parameter took: bng says which engine it started.
    if (!new RegExp(` started .* io=${ENGINE} `).test(fixture.bng.process.stderr)) throw new Error(`bng did not start on the ${ENGINE} engine:\n${fixture.bng.process.stderr}`);
    await fixture.bng.waitForTargets(options.targets ?? [1, 2], "up", 10_000);
  }, 30_000);
  afterAll(async () => {
    await fixture.bng?.stop().catch(() => undefined);
    await fixture.lab?.destroy();
    fixture.scratch?.remove();
  }, 30_000);
  return fixture;
}

/** Runs `body` with a lab and a scratch directory of its own, both removed afterwards, also when it fails. */
export async function withLab<T>(options: { prefix: string; clients: number }, body: (lab: Lab, scratch: Scratch) => Promise<T>): Promise<T> {
  const lab = await createLab(options);
  const scratch = new Scratch();
  try {
    return await body(lab, scratch);
  } finally {
    await lab.destroy();
    scratch.remove();
  }
}

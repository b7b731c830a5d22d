// Two network namespaces joined by a veth pair (a family of test/fixtures/namespaces.ts: names
// `<prefix><random>-a` and `-b`, links `<prefix><random>a` and `b`), and helper processes
// (packet-io-helper.ts) run inside them, for the AF_PACKET namespace tests. `remove()` kills every
// process inside and deletes both namespaces (the veth pair goes with them); the family's exit
// hooks do the same if a run dies. Kernel defaults are left as they are (veth checksum offload on).
import { expect } from "bun:test";
import type { Settings } from "../../src/config/model.ts";
import { NamespaceFamily } from "../fixtures/namespaces.ts";
import { run, type RunningProcess, type StartOptions } from "../fixtures/process.ts";

const HELPER = new URL("./packet-io-helper.ts", import.meta.url).pathname;

export type IoKind = Settings["io"];

export interface VethLab {
  readonly namespaceA: string;
  readonly namespaceB: string;
  readonly linkA: string;
  readonly linkB: string;
  readonly addressA: string;
  readonly addressB: string;
  readonly macA: string;
  readonly macB: string;
  /** Creates the namespaces and the veth pair, addresses them and brings them up. */
  create(): void;
  /** Kills every process inside and deletes the namespaces; safe after a failed or no create. */
  remove(): void;
  /** A packet-io-helper.ts process in `namespace` on the engine `io`, waited on until its sockets are open. */
  startHelper(namespace: string, args: string[], io?: IoKind): Promise<Helper>;
  /** A long-running command inside `namespace`; remove() kills it if the test does not. */
  spawn(namespace: string, command: string[], options?: StartOptions): RunningProcess;
}

export interface Helper {
  /** The helper's one JSON result line, once it has exited. */
  result<T>(): Promise<T>;
}

export function inNamespace(namespace: string, command: string[]): string[] {
  return ["ip", "netns", "exec", namespace, ...command];
}

function macOf(namespace: string, link: string): string {
  const match = /link\/ether ([0-9a-f:]{17})/.exec(run(["ip", "-n", namespace, "link", "show", link]));
  if (!match?.[1]) throw new Error(`no MAC for ${link}`);
  return match[1];
}

export function vethLab(prefix: string): VethLab {
  let family: NamespaceFamily | undefined;
  const made = () => {
    if (!family) throw new Error(`vethLab(${prefix}): create() it first`);
    return family;
  };
  const lab = {
    namespaceA: "",
    namespaceB: "",
    linkA: "",
    linkB: "",
    addressA: "192.0.2.1",
    addressB: "192.0.2.2",
    macA: "",
    macB: "",

    create(): void {
      family = new NamespaceFamily(prefix);
      lab.namespaceA = family.add("a");
      lab.namespaceB = family.add("b");
      lab.linkA = `${family.id}a`;
      lab.linkB = `${family.id}b`;
      family.veth({ ns: lab.namespaceA, ifname: lab.linkA, address: `${lab.addressA}/24` }, { ns: lab.namespaceB, ifname: lab.linkB, address: `${lab.addressB}/24` });
      lab.macA = macOf(lab.namespaceA, lab.linkA);
      lab.macB = macOf(lab.namespaceB, lab.linkB);
    },

    remove(): void {
      family?.destroyNow();
    },

    async startHelper(namespace: string, args: string[], io: IoKind = "mmsg"): Promise<Helper> {
      const child = made().spawn(namespace, [process.execPath, HELPER, io, ...args]);
      const { line: ready } = await child.waitFor(() => true, 10_000);
      expect(JSON.parse(ready)).toEqual({ ready: true });
      return {
        async result<T>(): Promise<T> {
          const { line } = await child.waitFor(() => true, 60_000, 1);
          await child.exited;
          return JSON.parse(line) as T;
        },
      };
    },

    spawn(namespace: string, command: string[], options?: StartOptions): RunningProcess {
      return made().spawn(namespace, command, options);
    },
  };
  return lab;
}

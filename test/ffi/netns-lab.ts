// Two network namespaces joined by a veth pair, and helper processes (packet-io-helper.ts) run
// inside them, for the AF_PACKET namespace tests. Names are `prefix` + a random suffix + a/b;
// `remove()` kills the helpers and deletes both namespaces (the veth pair goes with them).
// Kernel defaults are left as they are (veth checksum offload on).
import { expect } from "bun:test";
import { run } from "../fixtures/process.ts";

const HELPER = new URL("./packet-io-helper.ts", import.meta.url).pathname;

export type IoKind = "mmsg" | "ring";

export interface VethLab {
  readonly namespaceA: string;
  readonly namespaceB: string;
  readonly linkA: string;
  readonly linkB: string;
  readonly addressA: string;
  readonly addressB: string;
  macA: string;
  macB: string;
  /** Creates the namespaces and the veth pair, addresses them and brings them up. */
  create(): void;
  /** Kills every helper still running and deletes the namespaces; safe after a failed create. */
  remove(): void;
  /** A helper process in `namespace` (BNG_TEST_IO = `io`), waited on until its sockets are open. */
  startHelper(namespace: string, args: string[], io?: IoKind): Promise<Helper>;
  /** Spawns a long-running command inside `namespace`; remove() kills it if the test does not. */
  spawn(namespace: string, command: string[]): Bun.Subprocess<"ignore", "pipe", "pipe">;
  /** Forgets a process the test has stopped itself. */
  forget(child: Bun.Subprocess): void;
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
  const suffix = Math.random().toString(16).slice(2, 8);
  const children = new Set<Bun.Subprocess>();
  const lab: VethLab = {
    namespaceA: `${prefix}${suffix}a`,
    namespaceB: `${prefix}${suffix}b`,
    linkA: `${prefix}${suffix}a`,
    linkB: `${prefix}${suffix}b`,
    addressA: "192.0.2.1",
    addressB: "192.0.2.2",
    macA: "",
    macB: "",

    create(): void {
      run(["ip", "netns", "add", lab.namespaceA]);
      run(["ip", "netns", "add", lab.namespaceB]);
      run(["ip", "link", "add", lab.linkA, "netns", lab.namespaceA, "type", "veth", "peer", "name", lab.linkB, "netns", lab.namespaceB]);
      run(["ip", "-n", lab.namespaceA, "addr", "add", `${lab.addressA}/24`, "dev", lab.linkA]);
      run(["ip", "-n", lab.namespaceB, "addr", "add", `${lab.addressB}/24`, "dev", lab.linkB]);
      for (const [namespace, link] of [[lab.namespaceA, lab.linkA], [lab.namespaceB, lab.linkB]] as const) {
        run(["ip", "-n", namespace, "link", "set", link, "up"]);
        run(["ip", "-n", namespace, "link", "set", "lo", "up"]);
      }
      lab.macA = macOf(lab.namespaceA, lab.linkA);
      lab.macB = macOf(lab.namespaceB, lab.linkB);
    },

    remove(): void {
      for (const child of children) child.kill();
      children.clear();
      for (const namespace of [lab.namespaceA, lab.namespaceB]) Bun.spawnSync(["ip", "netns", "del", namespace]);
    },

    async startHelper(namespace: string, args: string[], io: IoKind = "mmsg"): Promise<Helper> {
      const child = Bun.spawn(inNamespace(namespace, [process.execPath, HELPER, ...args]), {
        stdout: "pipe",
        stderr: "pipe",
        env: { ...process.env, BNG_TEST_IO: io },
      });
      children.add(child);
      const reader = child.stdout.getReader();
      let buffered = "";
      const decoder = new TextDecoder();
      async function nextLine(): Promise<string> {
        for (;;) {
          const newline = buffered.indexOf("\n");
          if (newline >= 0) {
            const line = buffered.slice(0, newline);
            buffered = buffered.slice(newline + 1);
            return line;
          }
          const chunk = await reader.read();
          if (chunk.done) {
            await child.exited;
            throw new Error(`helper ${args[0]} exited ${child.exitCode}: ${await new Response(child.stderr).text()}`);
          }
          buffered += decoder.decode(chunk.value, { stream: true });
        }
      }
      expect(JSON.parse(await nextLine())).toEqual({ ready: true });
      return {
        async result<T>(): Promise<T> {
          const line = await nextLine();
          await child.exited;
          children.delete(child);
          return JSON.parse(line) as T;
        },
      };
    },

    spawn(namespace: string, command: string[]) {
      const child = Bun.spawn(inNamespace(namespace, command), { stdout: "pipe", stderr: "pipe" });
      children.add(child);
      return child;
    },

    forget(child: Bun.Subprocess): void {
      children.delete(child);
    },
  };
  return lab;
}

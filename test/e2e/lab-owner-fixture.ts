// Creates a small lab, or with "bench" a benchmark's namespace family (bench/lib.ts), and holds
// it until killed, so lab.test.ts can check what happens to namespaces whose run dies (SIGKILL:
// stale leftovers; SIGTERM: the exit hooks clean up).
// Usage: bun test/e2e/lab-owner-fixture.ts <prefix>|bench
import { Namespaces } from "../../bench/lib.ts";
import { createLab } from "./lab.ts";

async function holdBenchFamily(): Promise<{ id: string; namespaces: string[] }> {
  const family = new Namespaces();
  const namespaces = [await family.add("gen"), await family.add("lb")];
  Bun.spawn(["ip", "netns", "exec", namespaces[1]!, "sleep", "300"], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  return { id: family.id, namespaces };
}

async function holdLab(prefix: string | undefined): Promise<{ id: string; namespaces: string[] }> {
  const lab = await createLab({ prefix, clients: 1, targets: 1 });
  lab.spawnIn(lab.bngNs, ["sleep", "300"]);
  return { id: lab.id, namespaces: lab.namespaces() };
}

console.log(JSON.stringify(Bun.argv[2] === "bench" ? await holdBenchFamily() : await holdLab(Bun.argv[2])));
// Keeps the event loop alive until a signal arrives.
setInterval(() => {}, 1 << 30);

// Creates a small lab, or with "bench" a benchmark's namespace family (prefix bngb), and holds it
// until killed, so lab.test.ts can check what happens to namespaces whose run dies (SIGKILL:
// stale leftovers; SIGTERM: the exit hooks clean up).
// Usage: bun test/e2e/lab-owner-fixture.ts <prefix>|bench
import { NAMESPACE_PREFIX } from "../../bench/lib.ts";
import { NamespaceFamily } from "../fixtures/namespaces.ts";
import { createLab } from "./lab.ts";

function holdBenchFamily(): { id: string; namespaces: string[] } {
  const family = new NamespaceFamily(NAMESPACE_PREFIX);
  const namespaces = [family.add("gen"), family.add("lb")];
  family.spawn(namespaces[1]!, ["sleep", "300"]);
  return { id: family.id, namespaces };
}

async function holdLab(prefix: string | undefined): Promise<{ id: string; namespaces: string[] }> {
  const lab = await createLab({ prefix, clients: 1, targets: 1 });
  lab.spawnIn(lab.bngNs, ["sleep", "300"]);
  return { id: lab.id, namespaces: lab.namespaces() };
}

console.log(JSON.stringify(process.argv[2] === "bench" ? holdBenchFamily() : await holdLab(process.argv[2])));
// Keeps the event loop alive until a signal arrives.
setInterval(() => {}, 1 << 30);

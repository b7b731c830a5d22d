// Creates a small lab and holds it until killed, so lab.test.ts can check what happens to a
// lab whose run dies (SIGKILL: stale leftovers; SIGTERM: the exit hooks clean up).
// Usage: bun test/e2e/lab-owner-fixture.ts <prefix>
import { createLab } from "./lab.ts";

const lab = await createLab({ prefix: Bun.argv[2], clients: 1, targets: 1 });
lab.spawnIn(lab.bngNs, ["sleep", "300"]);
console.log(JSON.stringify({ id: lab.id, namespaces: lab.namespaces() }));
// Keeps the event loop alive until a signal arrives.
setInterval(() => {}, 1 << 30);

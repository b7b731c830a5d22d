// Holds a descriptor of BPF link ID (any process with CAP_SYS_ADMIN can take one by id), so the
// link outlives the bng that made it: what the host-state repair of `set io xdp` is for.
// Prints {"held":ID} and waits to be killed. Usage: bun test/e2e/xdp-link-holder.ts ID
import { linkById } from "../../ffi/bpf.ts";

const id = Number(process.argv[2]);
const fd = linkById(id);
if (fd === undefined) {
  console.error(`no BPF link ${id}`);
  process.exit(1);
}
console.log(JSON.stringify({ held: id }));
setInterval(() => {}, 60_000);

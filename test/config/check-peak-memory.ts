// `bng check FILE` in this process, then its peak resident size on stderr's last line
// (`peak-rss-kib N`). VmHWM belongs to this process's own memory since it started: unlike
// getrusage's maxrss, it does not carry over the peak of the parent that spawned it.
import { readFileSync } from "node:fs";
import { main } from "../../src/cli/main.ts";

const code = await main(["check", process.argv[2]!]);
const peak = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
console.error(`peak-rss-kib ${peak}`);
process.exit(code);

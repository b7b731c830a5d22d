// `script`: a real program run by the monitor in the checker namespace with the target's
// address and port; a mode file decides whether it exits 0, exits 1 or hangs. I = 1 s, T = 3 s.
import { expect, test } from "bun:test";
import { describeWith, ROOT } from "../fixtures/requirements.ts";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CheckLab, processesEnd, TARGET, useCheckLab } from "./check-lab.ts";

const I = 1;
const T = 3;
const lab = new CheckLab();
const script = join(lab.dir, "check.sh");
const modeFile = join(lab.dir, "mode");
const argsFile = join(lab.dir, "args");
const pidFile = join(lab.dir, "pids");

async function setUp(): Promise<void> {
  writeFileSync(
    script,
    `#!/bin/sh
echo "$1 $2" >> ${argsFile}
case "$(cat ${modeFile})" in
  ok) exit 0 ;;
  fail) echo "starting check"; echo "database replica lagging" >&2; exit 1 ;;
  hang) sleep 300 & echo "$$ $!" >> ${pidFile}; wait ;;
esac
`,
  );
  chmodSync(script, 0o755);
  setMode("ok");
  await lab.startMonitor([{ id: 1, ipaddr: TARGET, port: 8443, script: [script, I, T] }]);
}
const setMode = (mode: "ok" | "fail" | "hang") => writeFileSync(modeFile, `${mode}\n`);

describeWith([ROOT], "script in network namespaces", () => {
  useCheckLab(lab, setUp);

  test(
    "exit 0: up, and the script got the target's address and port",
    async () => {
      const up = await lab.nextEvent(1, "up", 3000, 0);
      expect(up.cause).toMatch(new RegExp(`^script ${script} exited 0 in [0-9.]+ ms$`));
      expect(readFileSync(argsFile, "utf8").split("\n")[0]).toBe(`${TARGET} 8443`);
    },
    10_000,
  );

  test(
    "exit 1: down T s after the last success, the cause ends with the last line it wrote; exit 0 again: up",
    async () => {
      setMode("fail");
      const down = await lab.nextEvent(1, "down", (T + 2) * 1000);
      expect(down.cause).toBe(`script ${script} exit 1: database replica lagging for ${T} s`);
      setMode("ok");
      await lab.nextEvent(1, "up", (I + 2) * 1000);
    },
    15_000,
  );

  test(
    "a hanging script: killed at the interval with everything it started, and down after T s",
    async () => {
      setMode("hang");
      const down = await lab.nextEvent(1, "down", (T + 2) * 1000);
      expect(down.cause).toBe(`script ${script} timeout (killed) for ${T} s`);
      setMode("ok");
      await lab.nextEvent(1, "up", (I + 2) * 1000);
      // The last hanging run was killed when the first good one started.
      const pids = readFileSync(pidFile, "utf8").trim().split(/\s+/);
      expect(pids.length).toBeGreaterThanOrEqual(4);
      expect(await processesEnd(pids)).toBe(true);
    },
    15_000,
  );
});

// Which VIPs a target's dsrcheck goes to.
import { expect, test } from "bun:test";
import { dsrVipsOf } from "../../src/health/dsr-path.ts";
import { config } from "../fixtures/config.ts";
import { ip } from "../fixtures/frames.ts";

test("the VIPs of the enabled servers that list the target as a target or a backup, each once", () => {
  const model = config(
    [
      { id: 1, ipaddr: "172.16.1.10", port: 80, targets: [1, 2] },
      { id: 2, ipaddr: "172.16.1.11", port: 443, targets: [2], backup: [1] },
      { id: 3, ipaddr: "172.16.1.10", port: 443, targets: [1] },
      { id: 4, ipaddr: "172.16.1.12", port: 80, targets: [1], enabled: false },
    ],
    [{ id: 1, ipaddr: "172.16.1.100" }, { id: 2, ipaddr: "172.16.1.101" }, { id: 3, ipaddr: "172.16.1.102" }],
  );
  expect(dsrVipsOf(model, 1)).toEqual([ip("172.16.1.10"), ip("172.16.1.11")]);
  expect(dsrVipsOf(model, 2)).toEqual([ip("172.16.1.10"), ip("172.16.1.11")]);
  expect(dsrVipsOf(model, 3)).toEqual([]);
  model.servers[3]!.enabled = true;
  expect(dsrVipsOf(model, 1)).toEqual([ip("172.16.1.10"), ip("172.16.1.11"), ip("172.16.1.12")]);
});

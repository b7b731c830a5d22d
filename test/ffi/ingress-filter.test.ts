import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { filterTableName, vipFilterScript } from "../../src/host/ingress-filter.ts";
import { ip } from "../fixtures/frames.ts";
import { run } from "../fixtures/process.ts";
import { describeWith, program, ROOT } from "../fixtures/requirements.ts";
import { vethLab } from "./netns-lab.ts";

const FILTER_MODULE = new URL("../../src/host/ingress-filter.ts", import.meta.url).pathname;

describe("the nft script", () => {
  test("replaces the table in one transaction and drops IPv4 frames to each VIP once", () => {
    expect(vipFilterScript("eth0", [ip("172.16.1.10"), ip("172.16.1.11"), ip("172.16.1.10")])).toBe(
      "table netdev bng_eth0\n" +
        "delete table netdev bng_eth0\n" +
        "table netdev bng_eth0 {\n" +
        "\tchain vip_ingress {\n" +
        '\t\ttype filter hook ingress device "eth0" priority filter; policy accept;\n' +
        "\t\tip daddr { 172.16.1.10, 172.16.1.11 } counter drop\n" +
        "\t}\n" +
        "}\n",
    );
  });

  test("with no VIP the chain stays, empty", () => {
    expect(vipFilterScript("eth0", [])).not.toContain("daddr");
  });

  test("table names are nft identifiers whatever the interface is called", () => {
    expect(filterTableName("eth0.100")).toBe("bng_eth0_100");
    expect(filterTableName("br-lan")).toBe("bng_br_lan");
  });
});

describeWith([ROOT, program("nft")], "the table in a namespace", () => {
  const lab = vethLab("bngf");
  beforeAll(() => lab.create());
  afterAll(() => lab.remove());

  test("apply installs the rule, a second apply replaces it, remove deletes the table (twice is harmless)", () => {
    // nft acts on the namespace of the process that runs it, so the filter runs in a child
    // process started inside namespace A.
    const steps = `
      const { vipIngressFilter } = await import(${JSON.stringify(FILTER_MODULE)});
      const filter = vipIngressFilter(process.argv[1]);
      filter.apply([0x0a090001]);
      filter.apply([0x0a090002, 0x0a090003]);
      const rules = Bun.spawnSync(["nft", "list", "table", "netdev", filter.table]).stdout.toString();
      filter.remove();
      filter.remove();
      console.log(JSON.stringify({ rules }));
    `;
    const { rules } = JSON.parse(run(["ip", "netns", "exec", lab.namespaceA, process.execPath, "-e", steps, lab.linkA])) as { rules: string };
    expect(rules).toContain(`hook ingress device "${lab.linkA}"`);
    expect(rules).toMatch(/ip daddr \{ 10\.9\.0\.2, 10\.9\.0\.3 \} counter packets \d+ bytes \d+ drop/);
    expect(rules).not.toContain("10.9.0.1");
    expect(run(["ip", "netns", "exec", lab.namespaceA, "nft", "list", "tables", "netdev"])).not.toContain(filterTableName(lab.linkA));
  });
});

// `npm run demo`: loads the seed's DSR configuration and shows what bng understood of it.
import { formatDiagnostic, loadConfigFile, printConfig, summarizeConfig } from "../src/config/index.ts";
import { ipToString } from "../src/config/model.ts";

const file = new URL("../config/dsr-example.conf", import.meta.url).pathname;
const result = loadConfigFile(file);
if (!result.ok) {
  const source = await Bun.file(file).text();
  for (const diagnostic of result.errors) console.error(formatDiagnostic(diagnostic, source));
  process.exit(1);
}
const { config } = result;
console.log(`config/dsr-example.conf: ${summarizeConfig(config)}\n`);
for (const network of config.networks) {
  console.log(`network ${network.id} ${network.name ?? ""}: ${ipToString(network.addr)}/${ipToString(network.mask)}, bng's own address ${network.real === undefined ? "-" : ipToString(network.real)} on ${network.interfaceRef ?? "-"}`);
}
for (const server of config.servers) {
  console.log(`server ${server.id}: VIP ${ipToString(server.ipaddr)}:${server.port}/${server.protocol}, method ${server.method}, targets ${server.targets.join(",")}, sessions idle out after ${server.sessionTimeoutS} s`);
}
for (const target of config.targets) {
  const checks = target.tcpopen.map((check) => `tcpopen port ${check.port} every ${check.intervalS} s, down after ${check.timeoutS} s`).join("; ");
  console.log(`target ${target.id}: ${ipToString(target.ipaddr)}:${target.port}/${target.protocol}, ${target.dsr ? "DSR" : "NAT"}, weight ${target.weight}, ${checks || "no health check"}`);
}
console.log("\nCanonical form (bng print):\n");
process.stdout.write(printConfig(config));

// `bng -g OID`, `bng -n OID`, `bng -s OID TYPE VALUE`: the program behind snmpd's
// `pass .1.3.6.1.4.1.2771 /usr/sbin/bng`, answering from the running bng's status.
import { hostname } from "node:os";
import { sendControlRequest } from "../control/socket-client.ts";
import type { StatusReport } from "../control/status.ts";
import type { Oid } from "../snmp/oid.ts";
import { PASS_SET_REPLY, passReply, type PassRequest } from "../snmp/pass.ts";

/** snmpd allows a pass program a few seconds per request; bng answers well within them or not at all. */
const STATUS_TIMEOUT_MS = 3000;

export async function commandPass(request: PassRequest | "set", oid: Oid, socketPath: string): Promise<number> {
  if (request === "set") {
    process.stdout.write(PASS_SET_REPLY);
    return 0;
  }
  // Any failure prints nothing on stdout: snmpd then answers "no such object" rather than a wrong value.
  const reply = await sendControlRequest(socketPath, { cmd: "status" }, STATUS_TIMEOUT_MS);
  if (!reply.ok) {
    console.error(`bng: ${reply.error}`);
    return 1;
  }
  process.stdout.write(passReply(request, oid, reply.result as StatusReport, hostname()));
  return 0;
}

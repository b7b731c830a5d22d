// Sends one ICMP echo from argv[2] to argv[3] through ffi/icmp.ts and prints, as JSON, the
// socket kind the kernel allowed and what came back within a second (polled, never blocking).
import { IcmpEchoSocket } from "../../ffi/icmp.ts";
import { pollNow } from "../../ffi/inet-socket.ts";
import { POLLIN } from "../../ffi/layout.ts";

const ipFromText = (text: string) => text.split(".").reduce((value, part) => value * 256 + Number(part), 0);
const socket = IcmpEchoSocket.open(ipFromText(process.argv[2] ?? ""));
const sendErrno = socket.send(ipFromText(process.argv[3] ?? ""), 4242);
const deadline = Date.now() + 1000;
let messages = socket.drain();
while (messages.length === 0 && Date.now() < deadline) {
  await Bun.sleep(5);
  if (pollNow(socket.fd, POLLIN) !== 0) messages = socket.drain();
}
socket.close();
process.stdout.write(JSON.stringify({ kind: socket.kind, sendErrno, messages }) + "\n");

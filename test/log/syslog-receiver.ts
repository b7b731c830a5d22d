// A real syslog receiver for the tests: python3 binds a unix datagram socket at a path (as
// syslogd binds /dev/log) and prints each datagram it receives as one line, newlines escaped.
import { RunningProcess } from "../fixtures/process.ts";

const RECEIVER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("bound", flush=True)
while True:
    data = s.recv(65536)
    print(data.decode("utf-8", "backslashreplace").replace("\\n", "\\\\n"), flush=True)
`;

export class SyslogReceiver extends RunningProcess {
  constructor(readonly path: string) {
    super(["python3", "-c", RECEIVER, path], { lines: "stdout" });
  }

  /** Resolves once the socket is bound; the datagrams are the lines after "bound". */
  async bound(): Promise<this> {
    await this.waitFor(/^bound$/, 5000);
    return this;
  }

  get messages(): string[] {
    return this.lines.slice(1);
  }
}

// `bng agent ARGS` for the tests, until src/cli/main.ts dispatches the command to the same function.
import { agentCommand } from "../../src/health/agent-server.ts";

process.exit(await agentCommand(process.argv.slice(2)));

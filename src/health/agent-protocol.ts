// What `bng agent` and the `agent` check say to each other over UDP. The query is a fixed
// datagram; the reply is the target's load as a decimal number ("0.42\n"). A reply is never
// longer than the query, so a forged query (UDP's source address is anyone's) gains its sender
// nothing: the agent cannot be used to amplify traffic.

export const DEFAULT_AGENT_PORT = 439;

/** The query: these bytes exactly; the agent ignores anything else. */
export const AGENT_QUERY = new TextEncoder().encode("BNG-AGENT LOAD?\n");

/** A load as the agent may send it: up to 9 digits, optionally a fraction of up to 4. */
const LOAD_TEXT = /^[0-9]{1,9}(\.[0-9]{1,4})?$/;

export function isAgentQuery(bytes: Uint8Array): boolean {
  if (bytes.length !== AGENT_QUERY.length) return false;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== AGENT_QUERY[i]) return false;
  return true;
}

/**
 * The reply datagram for a load given as text ("0.42", a script's output line), or undefined
 * when that is not a load. At most 15 bytes (LOAD_TEXT and a newline): shorter than the query.
 */
export function agentReply(load: string): Uint8Array | undefined {
  const text = load.trim();
  if (!LOAD_TEXT.test(text)) return undefined;
  return new TextEncoder().encode(`${text}\n`);
}

/** The load in the first `length` bytes of a reply, or undefined when they are not one. */
export function parseAgentReply(bytes: Uint8Array, length: number): number | undefined {
  if (length > AGENT_QUERY.length) return undefined;
  const text = new TextDecoder().decode(bytes.subarray(0, length)).trim();
  return LOAD_TEXT.test(text) ? Number(text) : undefined;
}

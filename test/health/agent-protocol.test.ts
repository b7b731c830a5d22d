// What `bng agent` and the agent check say to each other.
import { describe, expect, test } from "bun:test";
import { AGENT_QUERY, agentReply, isAgentQuery, parseAgentReply } from "../../src/health/agent-protocol.ts";

const text = (bytes: Uint8Array | undefined) => (bytes === undefined ? undefined : new TextDecoder().decode(bytes));

describe("agent protocol", () => {
  test("the query is exactly its bytes", () => {
    expect(isAgentQuery(AGENT_QUERY.slice())).toBe(true);
    expect(isAgentQuery(new TextEncoder().encode("BNG-AGENT LOAD?"))).toBe(false);
    expect(isAgentQuery(new TextEncoder().encode("BNG-AGENT LOAD!\n"))).toBe(false);
    expect(isAgentQuery(new Uint8Array(1000))).toBe(false);
  });

  test("a reply is the load, trimmed, and a newline; a reply is never longer than the query", () => {
    expect(text(agentReply("0.42"))).toBe("0.42\n");
    expect(text(agentReply("  17\n\n"))).toBe("17\n");
    expect(agentReply("123456789.1234")!.length).toBeLessThan(AGENT_QUERY.length);
    for (const bad of ["", "busy", "-1", "1e5", "0.12345", "1234567890", "0.4 0.3", "NaN", "1."]) expect(agentReply(bad)).toBeUndefined();
  });

  test("the check reads back the load; anything else is no load", () => {
    const reply = agentReply("2.5")!;
    expect(parseAgentReply(reply, reply.length)).toBe(2.5);
    const bytes = new TextEncoder().encode("load is high\n");
    expect(parseAgentReply(bytes, bytes.length)).toBeUndefined();
    const long = new TextEncoder().encode("1".repeat(AGENT_QUERY.length + 1));
    expect(parseAgentReply(long, long.length)).toBeUndefined();
  });
});

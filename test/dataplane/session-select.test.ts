// `show sessions` over a big table: select() counts every matching session and makes objects
// of the first `limit` only.
import { describe, expect, test } from "bun:test";
import { SessionTable } from "../../src/dataplane/sessions.ts";

const NO_STALE = -1;

describe("selecting sessions", () => {
  test("100,000 sessions: the total is exact, only `limit` become objects, filters apply before the limit", () => {
    const table = SessionTable.create(262_144, 0);
    for (let client = 1; client <= 100_000; client++) {
      const target = (client % 4) + 1;
      expect(table.bind(client % 2 === 0 ? 1 : 2, 0x0a000000 + client, 0, 10, 600, target, NO_STALE)).toBe(target);
    }
    const all = table.select(20, () => true, 10);
    expect(all.total).toBe(100_000 - table.evictions);
    expect(all.sessions).toHaveLength(10);
    const ofTarget3 = table.select(20, (_server, targetId) => targetId === 3, 1000);
    expect(ofTarget3.sessions.every((session) => session.targetId === 3)).toBe(true);
    expect(ofTarget3.sessions).toHaveLength(1000);
    expect(ofTarget3.total).toBe(table.sessionsOfTarget(3));
    const oneClient = table.select(20, (_server, _target, clientIp) => clientIp === 0x0a000000 + 77, 1000);
    expect(oneClient.total).toBe(1);
    expect(oneClient.sessions[0]).toMatchObject({ serverId: 2, targetId: 2, clientIp: 0x0a000000 + 77 });
    // Expired sessions are neither counted nor listed.
    expect(table.select(10 + 600, () => true, 10).total).toBe(0);
  });
});

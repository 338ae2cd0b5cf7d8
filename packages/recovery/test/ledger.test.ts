// The ledger's definitions that live in two places stay one: the status list against the runs
// table's CHECK constraint, and the backoff formula in JS against its SQL form.
import { RUN_STATUSES } from "@agentstate/checkpointer";
import { backoffMs, backoffParams, backoffSql } from "../src/ledger/backoff.js";
import { resolveRecoveryOptions } from "../src/options.js";
import { postgresReachable, testSaver, uniqueSchema } from "./helpers.js";

const up = await postgresReachable();

describe.skipIf(!up)("ledger definitions", () => {
  const schema = uniqueSchema("ledger");
  let env: Awaited<ReturnType<typeof testSaver>>;

  beforeAll(async () => {
    env = await testSaver(schema, 2);
  });
  afterAll(async () => {
    await env?.dispose();
  });

  it("RUN_STATUSES is exactly what the runs table's CHECK constraint allows", async () => {
    const rows = await env.saver.run<{ def: string }>(
      "test",
      `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint
       WHERE conrelid = to_regclass($1) AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%status%'`,
      [env.saver.tables.runs],
    );
    expect(rows).toHaveLength(1);
    const allowed = [...(rows[0]?.def ?? "").matchAll(/'([^']+)'/g)].map((m) => m[1]);
    expect(allowed).toEqual([...RUN_STATUSES]);
  });

  it("the SQL backoff computes what backoffMs computes", async () => {
    const o = resolveRecoveryOptions({
      backoffInitialMs: 100,
      backoffFactor: 3,
      backoffMaxMs: 50_000,
      jitter: 0,
    });
    const attempts = [0, 1, 2, 3, 4, 5, 6, 7, 8, 12];
    const rows = await env.saver.run<{ a: number; ms: number }>(
      "test",
      `SELECT a, (${backoffSql("a", 1)}) * 1000 AS ms FROM unnest($5::int[]) AS u(a) ORDER BY a`,
      [...backoffParams(o), attempts],
    );
    expect(rows.map((r) => Math.round(Number(r.ms)))).toEqual(attempts.map((a) => backoffMs(o, a)));
    // With jitter, both stay within ±jitter of the same base.
    const j = resolveRecoveryOptions({ backoffInitialMs: 1000, jitter: 0.2 });
    const [spread] = await env.saver.run<{ lo: number; hi: number }>(
      "test",
      `SELECT min(ms) AS lo, max(ms) AS hi FROM (
         SELECT (${backoffSql("3", 1)}) * 1000 AS ms FROM generate_series(1, 200)) s`,
      backoffParams(j),
    );
    const base = backoffMs({ ...j, jitter: 0 }, 3);
    expect(Number(spread?.lo)).toBeGreaterThanOrEqual(base * 0.8);
    expect(Number(spread?.hi)).toBeLessThanOrEqual(base * 1.2);
    expect(Number(spread?.hi)).toBeGreaterThan(Number(spread?.lo));
  });
});

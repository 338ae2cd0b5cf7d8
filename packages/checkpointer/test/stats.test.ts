import { EXACT_COUNT_LIMIT } from "../src/index.js";
import { toolLoopGraph, userSays } from "./graphs.js";
import { targets } from "./helpers.js";

// getCheckpointStats() blob/write counts: exact on fresh (never analyzed) and small tables, where
// pg_class.reltuples is -1 or 0; the planner's estimate only above EXACT_COUNT_LIMIT rows.
describe.each(targets)("checkpoint stats counts ($name)", (target) => {
  let made: Awaited<ReturnType<typeof target.create>>;
  beforeAll(async () => {
    made = await target.create();
  });
  afterAll(() => made.dispose());

  const count = async (table: string) => {
    const { rows } = await made.saver.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${table}`,
    );
    return rows[0]?.n ?? -1;
  };

  it("are exact on fresh tables that were never analyzed", async () => {
    const { saver } = made;
    await toolLoopGraph(saver, 2).invoke(userSays("hi"), { configurable: { thread_id: "s1" } });
    const blobs = await count(saver.tables.blobs);
    const writes = await count(saver.tables.writes);
    expect(blobs + writes).toBeGreaterThan(0);
    const stats = await saver.getCheckpointStats();
    expect(stats.approximateBlobs).toBe(blobs);
    expect(stats.approximateWrites).toBe(writes);
  });

  it("above the limit, report at least the limit (the planner's estimate once analyzed)", async () => {
    const { saver } = made;
    await saver.db.query(
      `INSERT INTO ${saver.tables.blobs} (thread_id, channel, version, type, blob)
       SELECT 'bulk', 'c', g::text, 'empty', NULL FROM generate_series(1, $1::int) g`,
      [EXACT_COUNT_LIMIT + 50],
    );
    const unanalyzed = await saver.getCheckpointStats();
    expect(unanalyzed.approximateBlobs).toBeGreaterThan(EXACT_COUNT_LIMIT);
    await saver.db.query(`ANALYZE ${saver.tables.blobs}`);
    const analyzed = await saver.getCheckpointStats();
    expect(analyzed.approximateBlobs).toBeGreaterThan(EXACT_COUNT_LIMIT);
    expect(analyzed.approximateBlobs).toBeLessThanOrEqual(2 * (await count(saver.tables.blobs)));
  });
});

// Hot statements run as named prepared statements on a pg.Pool, and a server that refuses them
// (what a connection pooler in transaction mode does) turns them off without losing a call.
// On real Postgres, one connection per pool so the test sees that connection's statements.
import { emptyCheckpoint } from "@langchain/langgraph-checkpoint";
import pg from "pg";
import { type PgPoolDatabase, statementName } from "../src/db.js";
import { PostgresCheckpointer } from "../src/index.js";
import { DATABASE_URL, dropSchema, pgUp, uniqueSchema } from "./helpers.js";

describe.skipIf(!pgUp)("prepared statements", () => {
  const schema = uniqueSchema("prepared");
  const pools: pg.Pool[] = [];
  let seq = 0;

  async function saverOn(options: { preparedStatements?: boolean } = {}) {
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
    pools.push(pool);
    const saver = new PostgresCheckpointer(pool, undefined, { schema, ...options });
    await saver.setup();
    return { pool, saver, db: saver.db as PgPoolDatabase };
  }

  /** A put, a task's writes and two reads on a new thread; returns the thread. */
  async function traffic(saver: PostgresCheckpointer): Promise<string> {
    const thread_id = `th-${seq++}`;
    const checkpoint = { ...emptyCheckpoint(), id: `1ef-${seq}`, channel_values: { a: "x" } };
    checkpoint.channel_versions = { a: "1" };
    const config = await saver.put(
      { configurable: { thread_id, checkpoint_ns: "" } },
      checkpoint,
      { source: "input", step: -1, parents: {} },
      { a: "1" },
    );
    await saver.putWrites(config, [["a", "y"]], "task-1");
    const tuple = await saver.getTuple({ configurable: { thread_id } });
    expect(tuple?.checkpoint.channel_values).toEqual({ a: "x" });
    expect(tuple?.pendingWrites).toEqual([["task-1", "a", "y"]]);
    expect((await saver.getTuple(config))?.checkpoint.id).toBe(checkpoint.id);
    return thread_id;
  }

  const prepared = async (pool: pg.Pool) =>
    (
      await pool.query<{ name: string }>(
        "SELECT name FROM pg_prepared_statements WHERE name LIKE 'agentstate\\_%' ORDER BY name",
      )
    ).rows.map((r) => r.name);

  afterAll(async () => {
    if (pools[0]) await dropSchema(schema, pools[0]);
    for (const pool of pools) await pool.end();
  });

  it("puts, writes and getTuple run prepared, once per text on a connection", async () => {
    const { pool, saver, db } = await saverOn();
    await traffic(saver);
    const after1 = await prepared(pool);
    // getTuple (latest and by id), the put, the task's writes
    expect(after1.length).toBe(4);
    await traffic(saver);
    expect(await prepared(pool)).toEqual(after1);
    expect(db.preparedStatements).toBe(true);
  });

  it("preparedStatements: false runs everything unnamed", async () => {
    const { pool, saver, db } = await saverOn({ preparedStatements: false });
    await traffic(saver);
    expect(await prepared(pool)).toEqual([]);
    expect(db.preparedStatements).toBe(false);
  });

  it("a statement the server no longer has (26000) runs unnamed, and preparing stops", async () => {
    const { pool, saver, db } = await saverOn();
    await traffic(saver);
    // What a pooler does when the next call lands on another server connection.
    await pool.query("DEALLOCATE ALL");
    await traffic(saver);
    expect(db.preparedStatements).toBe(false);
    expect(await prepared(pool)).toEqual([]);
  });

  it("a name the server already has (42P05) runs unnamed, and preparing stops", async () => {
    const { pool, saver, db } = await saverOn();
    // Another client of a pooler prepared the same name on this server connection first.
    const text = (saver as unknown as { getTupleProbedSql: string[] })
      .getTupleProbedSql[0] as string;
    await pool.query(`PREPARE "${statementName(text)}" AS SELECT 1`);
    await traffic(saver);
    expect(db.preparedStatements).toBe(false);
  });

  it("other errors of a prepared statement reach the caller as they are", async () => {
    const { saver, db } = await saverOn();
    await expect(
      saver.put(
        { configurable: { thread_id: "x\u0000", checkpoint_ns: "" } },
        emptyCheckpoint(),
        { source: "input", step: -1, parents: {} },
        {},
      ),
    ).rejects.toThrow(/thread_id/);
    const failing = db.query("SELECT 1/0", [], { prepare: true });
    await expect(failing).rejects.toMatchObject({ code: "22012" });
    expect(db.preparedStatements).toBe(true);
  });
});

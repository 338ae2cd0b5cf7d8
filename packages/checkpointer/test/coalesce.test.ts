import { emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import { PostgresCheckpointer } from "../src/index.js";
import { toolLoopGraph, userSays } from "./graphs.js";
import { adminPool, DATABASE_URL, pgUp, targets, uniqueSchema } from "./helpers.js";

const meta = { source: "loop" as const, step: 0, parents: {} };
const cp = (id = uuid6(0), value: unknown = 1) => ({
  ...emptyCheckpoint(),
  id,
  channel_values: { v: value },
  channel_versions: { v: 1 },
});

describe.each(targets)("group commit of concurrent writes ($name)", (target) => {
  let made: Awaited<ReturnType<typeof target.create>>;
  let saver: PostgresCheckpointer;
  const statements: string[] = [];
  beforeAll(async () => {
    made = await target.create();
    saver = new PostgresCheckpointer(made.saver.db, undefined, {
      schema: made.saver.options.schema,
      maxConcurrentWrites: 1,
    });
    saver.onOperation((e) => statements.push(e.operation));
  });
  afterAll(() => made.dispose());

  it("writes from many threads at once share statements, and every one lands", async () => {
    statements.length = 0;
    const graphs = Array.from({ length: 8 }, () => toolLoopGraph(saver, 3));
    await Promise.all(
      graphs.map((g, i) =>
        g.invoke(userSays(`g${i}`), { configurable: { thread_id: `co-${i}` }, durability: "sync" }),
      ),
    );
    const batched = statements.filter((s) => s === "writeBatch").length;
    const single = statements.filter((s) => s === "put" || s === "putWrites").length;
    let checkpoints = 0;
    for (let i = 0; i < 8; i += 1) {
      const state = await graphs[i]!.getState({ configurable: { thread_id: `co-${i}` } });
      expect(state.values.messages.at(-1)?.content).toBe("finished");
      for await (const _ of saver.list({ configurable: { thread_id: `co-${i}` } }))
        checkpoints += 1;
    }
    expect(batched).toBeGreaterThan(0);
    // fewer statements than writes: each put and each task's writes would otherwise be one
    expect(batched + single).toBeLessThan(checkpoints * 2);
  });

  it("a write that fails in a combined statement fails alone; the others land", async () => {
    // a constraint outside the checkpointer's schema: input checks cannot see it coming
    await saver.db.query(
      `ALTER TABLE ${saver.tables.checkpoints} ADD CONSTRAINT no_co_bad CHECK (thread_id <> 'co-bad')`,
    );
    statements.length = 0;
    const blocker = saver.put({ configurable: { thread_id: "co-block" } }, cp(), meta, { v: 1 });
    // queued behind the blocker, so these three go together
    const bad = saver.put({ configurable: { thread_id: "co-bad" } }, cp(uuid6(2)), meta, { v: 1 });
    const good1 = saver.put({ configurable: { thread_id: "co-good-1" } }, cp(uuid6(1), "a"), meta, {
      v: 1,
    });
    const good2 = saver.putWrites(
      { configurable: { thread_id: "co-good-2", checkpoint_ns: "", checkpoint_id: "c1" } },
      [["v", "w"]],
      "task",
    );
    const results = await Promise.allSettled([blocker, bad, good1, good2]);
    expect(results.map((r) => r.status)).toEqual([
      "fulfilled",
      "rejected",
      "fulfilled",
      "fulfilled",
    ]);
    // retried alone, it fails under its own name
    await expect(bad).rejects.toMatchObject({ code: "CONSTRAINT_VIOLATION", operation: "put" });
    // the queued writes were tried together once, then one by one (arrival order varies)
    expect(statements.filter((s) => s === "writeBatch")).toHaveLength(1);
    expect(statements.filter((s) => s !== "writeBatch").sort()).toEqual([
      "put",
      "put",
      "put",
      "putWrites",
    ]);
    expect(
      (await saver.getTuple({ configurable: { thread_id: "co-good-1" } }))?.checkpoint
        .channel_values,
    ).toEqual({ v: "a" });
    expect(await saver.getTuple({ configurable: { thread_id: "co-bad" } })).toBeUndefined();
  });
});

describe.skipIf(!pgUp)("end() with writes still queued", () => {
  it("waits for them: nothing submitted before end() is lost", async () => {
    const schema = uniqueSchema("drain");
    const setupSaver = PostgresCheckpointer.fromConnString(DATABASE_URL, { schema });
    await setupSaver.setup();
    await setupSaver.end();
    const saver = PostgresCheckpointer.fromConnString(DATABASE_URL, {
      schema,
      maxConcurrentWrites: 1,
    });
    const writes = Array.from({ length: 6 }, (_, i) =>
      saver.put({ configurable: { thread_id: `drain-${i}` } }, cp(uuid6(i)), meta, { v: 1 }),
    );
    await saver.end(); // called while most puts are still queued behind the first
    await Promise.all(writes);
    const admin = adminPool();
    try {
      const { rows } = await admin.query(`SELECT count(*)::int AS n FROM "${schema}".checkpoints`);
      expect(rows[0].n).toBe(6);
    } finally {
      await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
      await admin.end();
    }
  });
});

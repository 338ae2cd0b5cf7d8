import { emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import pg from "pg";
import { PostgresCheckpointer } from "../src/index.js";
import { batchStatement, outcomeStatement } from "../src/sql/writes.js";
import { toolLoopGraph, userSays } from "./graphs.js";
import { adminPool, DATABASE_URL, dropSchema, pgUp, targets, uniqueSchema } from "./helpers.js";

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

  it("text and bytes of any shape come back unchanged from a combined statement", async () => {
    // Columns travel as arrays and values as slices of one bytea: quoting, NULL-looking text,
    // empty strings, empty and binary values, non-ASCII and long text must all round-trip.
    const odd = [
      'a"b',
      "back\\slash",
      "{brace},comma",
      "NULL",
      "",
      " spaced ",
      "ünï😀",
      "x".repeat(3000),
    ];
    const blocker = saver.put({ configurable: { thread_id: "odd-block" } }, cp(), meta, { v: 1 });
    const calls = odd.map((text, i) => {
      const thread_id = `odd-${i}-${text.slice(0, 20)}`;
      const id = uuid6(60 + i);
      const value = { text, bytes: i % 2 === 0 ? "" : text };
      const checkpoint = {
        ...emptyCheckpoint(),
        id,
        channel_values: { [`ch-${text.slice(0, 30)}`]: value },
        channel_versions: { [`ch-${text.slice(0, 30)}`]: `v-${text.slice(0, 30)}` },
      };
      const put = saver.put({ configurable: { thread_id, checkpoint_ns: "" } }, checkpoint, meta, {
        [`ch-${text.slice(0, 30)}`]: `v-${text.slice(0, 30)}`,
      });
      const writes = saver.putWrites(
        { configurable: { thread_id, checkpoint_ns: "", checkpoint_id: id } },
        [
          [`w-${text.slice(0, 30)}`, i % 3 === 0 ? new Uint8Array(0) : new Uint8Array([0, 255, i])],
          ["__error__", { message: text }],
        ],
        `task-${text.slice(0, 30)}`,
      );
      return { thread_id, id, value, put, writes };
    });
    const before = new Map(saver.batchSizes);
    await blocker;
    await Promise.all(calls.flatMap((c) => [c.put, c.writes]));
    // they went together, not one by one
    const combined = [...saver.batchSizes].reduce(
      (n, [size, count]) => n + (size > 1 ? count - (before.get(size) ?? 0) : 0),
      0,
    );
    expect(combined).toBeGreaterThan(0);
    for (const [i, c] of calls.entries()) {
      const tuple = await saver.getTuple({ configurable: { thread_id: c.thread_id } });
      const text = odd[i] as string;
      expect(tuple?.checkpoint.id).toBe(c.id);
      expect(tuple?.checkpoint.channel_values).toEqual({ [`ch-${text.slice(0, 30)}`]: c.value });
      const writes = new Map((tuple?.pendingWrites ?? []).map(([, ch, v]) => [ch, v]));
      expect(writes.get("__error__")).toEqual({ message: text });
      const bytes = writes.get(`w-${text.slice(0, 30)}`) as Uint8Array;
      expect([...bytes]).toEqual(i % 3 === 0 ? [] : [0, 255, i]);
    }
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

  it("leased writes join the combined statement; a fenced one fails alone, the others land", async () => {
    const runs = saver.tables.runs;
    // Three runs: two hold their fence, one was taken over (its fence moved on to 8).
    await saver.db.query(
      `INSERT INTO ${runs} (thread_id, status, fence, lease_until)
       VALUES ('lg-a', 'running', 3, now()), ('lg-b', 'recovering', 5, now()), ('lg-c', 'running', 8, now())`,
    );
    const detach = [
      saver.attachLease("lg-a", { fence: 3, leaseSeconds: 600 }),
      saver.attachLease("lg-b", { fence: "5", leaseSeconds: 600 }),
      saver.attachLease("lg-c", { fence: 7, leaseSeconds: 600 }),
    ];
    const before = new Map(saver.batchSizes);
    statements.length = 0;
    // The blocker is a task's writes like writesB, called first: the first to reach group commit.
    const blocker = saver.putWrites(
      { configurable: { thread_id: "lg-free", checkpoint_ns: "", checkpoint_id: "cf" } },
      [["v", "f"]],
      "task-f",
    );
    // queued behind the blocker: they go together, guarded and unguarded alike
    const idA = uuid6(11);
    const putA = saver.put({ configurable: { thread_id: "lg-a" } }, cp(idA, "a"), meta, { v: 1 });
    const writesB = saver.putWrites(
      { configurable: { thread_id: "lg-b", checkpoint_ns: "", checkpoint_id: "cb" } },
      [["v", "b"]],
      "task-b",
    );
    const putC = saver.put({ configurable: { thread_id: "lg-c" } }, cp(uuid6(12), "c"), meta, {
      v: 1,
    });
    const free = saver.put({ configurable: { thread_id: "lg-free" } }, cp(), meta, { v: 1 });
    const results = await Promise.allSettled([blocker, putA, writesB, putC, free]);
    for (const d of detach) d();
    expect(results.map((r) => r.status)).toEqual([
      "fulfilled",
      "fulfilled",
      "fulfilled",
      "rejected",
      "fulfilled",
    ]);
    await expect(putC).rejects.toMatchObject({ code: "FENCED", operation: "put" });
    // one combined statement carried the four queued writes; nothing was retried alone
    expect(statements.filter((s) => s === "writeBatch")).toHaveLength(1);
    expect(statements.filter((s) => s !== "writeBatch")).toEqual(["putWrites"]);
    expect(saver.batchSizes.get(4)).toBe((before.get(4) ?? 0) + 1);
    // the fenced put left nothing; the others landed
    expect(await saver.getTuple({ configurable: { thread_id: "lg-c" } })).toBeUndefined();
    const a = await saver.getTuple({ configurable: { thread_id: "lg-a" } });
    expect(a?.checkpoint.channel_values).toEqual({ v: "a" });
    const b = await saver.getTuple({
      configurable: { thread_id: "lg-b", checkpoint_ns: "", checkpoint_id: "cb" },
    });
    expect(b).toBeUndefined(); // writes of a checkpoint not stored: check the rows instead
    const { rows: writes } = await saver.db.query<{ thread_id: string }>(
      `SELECT thread_id FROM ${saver.tables.writes} WHERE thread_id IN ('lg-b', 'lg-free') ORDER BY 1`,
    );
    expect(writes.map((w) => w.thread_id)).toEqual(["lg-b", "lg-free"]);
    // the guards share-lock the ledger rows and change none
    const { rows: ledger } = await saver.db.query<{
      thread_id: string;
      head: string | null;
      fence: string;
    }>(
      `SELECT thread_id, head_checkpoint_id AS head, fence::text FROM ${runs}
       WHERE thread_id LIKE 'lg-%' AND lease_until <= now() ORDER BY thread_id`,
    );
    expect(ledger).toEqual([
      { thread_id: "lg-a", head: null, fence: "3" },
      { thread_id: "lg-b", head: null, fence: "5" },
      { thread_id: "lg-c", head: null, fence: "8" },
    ]);
    expect(idA).toBeTruthy();
  });

  it("run outcomes join the combined statement: each settles its own row, a stale fence none", async () => {
    const runs = saver.tables.runs;
    await saver.db.query(
      `INSERT INTO ${runs} (thread_id, status, fence, lease_until, attempts)
       VALUES ('oc-a', 'running', 2, now() + interval '1 hour', 3),
              ('oc-b', 'running', 4, now() + interval '1 hour', 1),
              ('oc-c', 'running', 9, now() + interval '1 hour', 0)`,
    );
    await saver.db.query(
      `INSERT INTO ${saver.tables.runQueue} (thread_id, graph_id, details) VALUES ('oc-b', NULL, '{}')`,
    );
    statements.length = 0;
    const outcome = (threadId: string, fence: number, status: "completed" | "failed") =>
      saver.recordRunOutcome({
        threadId,
        fence,
        status,
        headCheckpointId: `head-${threadId}`,
        error: status === "failed" ? "boom" : null,
        retryInSeconds: status === "failed" ? 30 : null,
        errorKind: status === "failed" ? "transient" : null,
        needsReview: false,
        reason: null,
      });
    // The blocker is an outcome too (of a thread with no row: it settles nothing), sent first;
    // the three outcomes queue behind it and go together.
    const blocker = outcome("oc-none", 1, "completed");
    const results = await Promise.all([
      outcome("oc-a", 2, "completed"),
      outcome("oc-b", 4, "failed"),
      outcome("oc-c", 8, "completed"), // taken over: fence 9 now
      blocker,
    ]);
    expect(results).toEqual([{ queued: false }, { queued: true }, undefined, undefined]);
    expect(statements).toEqual(["finishRun", "writeBatch"]);
    const { rows } = await saver.db.query<Record<string, unknown>>(
      `SELECT thread_id, status, owner, head_checkpoint_id AS head, attempts, last_error AS error,
         lease_until IS NULL AS released, next_attempt_at > now() AS backoff
       FROM ${runs} WHERE thread_id LIKE 'oc-%' ORDER BY thread_id`,
    );
    expect(rows).toEqual([
      {
        thread_id: "oc-a",
        status: "completed",
        owner: null,
        head: "head-oc-a",
        attempts: 0,
        error: null,
        released: true,
        backoff: null,
      },
      {
        thread_id: "oc-b",
        status: "failed",
        owner: null,
        head: "head-oc-b",
        attempts: 1,
        error: "boom",
        released: false,
        backoff: true,
      },
      {
        thread_id: "oc-c",
        status: "running",
        owner: null,
        head: null,
        attempts: 0,
        error: null,
        released: false,
        backoff: null,
      },
    ]);
    // alone, an outcome is its own statement
    statements.length = 0;
    expect(await outcome("oc-b", 4, "completed")).toEqual({ queued: true });
    expect(statements).toEqual(["finishRun"]);
  });

  it("a statement of outcomes only commits without waiting for the WAL flush; one with writes waits", async () => {
    // Run each statement inside a transaction and ask what its commit will do.
    const commitMode = (statement: { sql: string; params: unknown[] }) =>
      saver.transaction("test", async (tx) => {
        await tx.query(statement.sql, statement.params);
        const { rows } = await tx.query<{ mode: string }>(
          "SELECT current_setting('synchronous_commit') AS mode",
        );
        return rows[0]!.mode;
      });
    await saver.db.query(
      `INSERT INTO ${saver.tables.runs} (thread_id, status, fence, lease_until)
       VALUES ('lz-a', 'running', 1, now() + interval '1 hour'),
              ('lz-b', 'running', 1, now() + interval '1 hour')`,
    );
    const row = (threadId: string) => ({
      threadId,
      fence: 1,
      status: "completed" as const,
      headCheckpointId: null,
      error: null,
      retryInSeconds: null,
      errorKind: null,
      needsReview: false,
      reason: null,
    });
    const empty = { guards: [], blobs: [], checkpoints: [], special: [], regular: [] };
    const write = {
      task: { threadId: "lz-w", ns: "", checkpointId: "c1", taskId: "t1", taskPath: "" },
      row: { channel: "v", idx: 0, type: "json", blob: new TextEncoder().encode("1") },
      fence: null,
    };
    expect(await commitMode(outcomeStatement(saver.tables, row("lz-a")))).toBe("off");
    expect(
      await commitMode(batchStatement(saver.tables, { ...empty, outcomes: [row("lz-b")] })),
    ).toBe("off");
    expect(
      await commitMode(
        batchStatement(saver.tables, { ...empty, regular: [write], outcomes: [row("lz-b")] }),
      ),
    ).toBe("on");
    const { rows } = await saver.db.query<{ thread_id: string; status: string }>(
      `SELECT thread_id, status FROM ${saver.tables.runs} WHERE thread_id LIKE 'lz-%' ORDER BY 1`,
    );
    expect(rows).toEqual([
      { thread_id: "lz-a", status: "completed" },
      { thread_id: "lz-b", status: "completed" },
    ]);
  });

  it("a leased put writes no ledger row: renewing the lease is the lease keeper's", async () => {
    const runs = saver.tables.runs;
    await saver.db.query(
      `INSERT INTO ${runs} (thread_id, status, fence, lease_until, updated_at)
       VALUES ('lr-1', 'running', 1, now() + interval '20 seconds', '2000-01-01')`,
    );
    const detach = saver.attachLease("lr-1", { fence: 1, leaseSeconds: 600 });
    try {
      await saver.put({ configurable: { thread_id: "lr-1" } }, cp(uuid6(20)), meta, { v: 1 });
      await saver.putWrites(
        { configurable: { thread_id: "lr-1", checkpoint_ns: "", checkpoint_id: "c" } },
        [["v", 1]],
        "t",
      );
    } finally {
      detach();
    }
    const { rows } = await saver.db.query<{ touched: boolean; short: boolean }>(
      `SELECT updated_at > '2000-01-01' AS touched, lease_until < now() + interval '60 seconds' AS short
       FROM ${runs} WHERE thread_id = 'lr-1'`,
    );
    expect(rows).toEqual([{ touched: false, short: true }]);
    expect(await saver.getTuple({ configurable: { thread_id: "lr-1" } })).toBeDefined();
  });

  it("leaseActivity: the last root checkpoint and the interrupts stored under a lease", async () => {
    await saver.db.query(
      `INSERT INTO ${saver.tables.runs} (thread_id, status, fence, lease_until)
       VALUES ('la-1', 'running', 2, now() + interval '1 hour')`,
    );
    const lease = { fence: 2, leaseSeconds: 3600 };
    const detach = saver.attachLease("la-1", lease);
    expect(saver.leaseActivity(lease)).toEqual({ head: null, interrupts: 0 });
    const root = uuid6(30);
    await saver.put({ configurable: { thread_id: "la-1" } }, cp(root), meta, { v: 1 });
    // a subgraph's checkpoint is not the run's head
    await saver.put(
      { configurable: { thread_id: "la-1", checkpoint_ns: "child:1" } },
      cp(uuid6(31)),
      meta,
      { v: 1 },
    );
    await saver.putWrites(
      { configurable: { thread_id: "la-1", checkpoint_ns: "child:1", checkpoint_id: root } },
      [
        ["__interrupt__", [{ value: "ask", id: "i1" }]],
        ["v", 1],
      ],
      "task-i",
    );
    detach();
    expect(saver.leaseActivity(lease)).toEqual({ head: root, interrupts: 1 });
    // detached: later writes are not the lease's
    await saver.put({ configurable: { thread_id: "la-1" } }, cp(uuid6(32)), meta, { v: 1 });
    expect(saver.leaseActivity(lease)?.head).toBe(root);
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
      await dropSchema(schema, admin);
      await admin.end();
    }
  });
});

describe.skipIf(!pgUp)("a takeover while a run's writes are in flight (postgres)", () => {
  it("a combined statement, and a task's writes alone, wait for the takeover's commit; then the old fence's writes are FENCED, the others land", async () => {
    const schema = uniqueSchema("takeover");
    const saver = PostgresCheckpointer.fromConnString(DATABASE_URL, {
      schema,
      maxConcurrentWrites: 1,
    });
    await saver.setup();
    const admin = adminPool();
    // Two other sessions: one holds the first write back, one is another worker's takeover.
    const [holder, takeover] = [new pg.Client(DATABASE_URL), new pg.Client(DATABASE_URL)];
    await Promise.all([holder.connect(), takeover.connect()]);
    /** Until a session of this schema waits on a lock in a statement that starts with `prefix`. */
    const waitingIn = async (prefix: string) => {
      for (;;) {
        const { rows } = await admin.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE wait_event_type = 'Lock' AND starts_with(query, $1) AND strpos(query, $2) > 0`,
          [prefix, `"${schema}".`],
        );
        if (rows[0].n > 0) return;
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    try {
      const { runs, checkpoints } = saver.tables;
      await admin.query(
        `INSERT INTO ${runs} (thread_id, status, fence, lease_until)
         VALUES ('tk-put', 'running', 3, now() + interval '1 hour'),
                ('tk-writes', 'running', 3, now() + interval '1 hour')`,
      );
      saver.attachLease("tk-put", { fence: 3, leaseSeconds: 600 });
      saver.attachLease("tk-writes", { fence: 3, leaseSeconds: 600 });
      // The first write goes alone and waits on a row the holder inserted but did not commit.
      const id = uuid6(40);
      await holder.query("BEGIN");
      await holder.query(
        `INSERT INTO ${checkpoints} (thread_id, checkpoint_ns, checkpoint_id, checkpoint, metadata)
         VALUES ('tk-free', '', $1, '{}', '{}')`,
        [id],
      );
      const blocker = saver.put({ configurable: { thread_id: "tk-free" } }, cp(id), meta, {
        v: 1,
      });
      await waitingIn("WITH b AS");
      // Queued behind it, so they go as one combined statement: a put and a task's writes of the
      // old fence, and an unleased write.
      const put = saver.put({ configurable: { thread_id: "tk-put" } }, cp(uuid6(41)), meta, {
        v: 1,
      });
      const writes = saver.putWrites(
        { configurable: { thread_id: "tk-writes", checkpoint_ns: "", checkpoint_id: "c1" } },
        [["v", "w"]],
        "task-w",
      );
      const free = saver.putWrites(
        { configurable: { thread_id: "tk-free", checkpoint_ns: "", checkpoint_id: id } },
        [["v", "f"]],
        "task-f",
      );
      // Another worker takes both threads over; it has not committed yet.
      await takeover.query("BEGIN");
      await takeover.query(
        `UPDATE ${runs} SET fence = 4 WHERE thread_id IN ('tk-put', 'tk-writes')`,
      );
      await holder.query("ROLLBACK");
      await blocker;
      // The combined statement waits on the ledger rows the takeover holds (the put's and the
      // writes'), rather than reading the old fences and landing after the takeover.
      await waitingIn("WITH gv AS");
      await takeover.query("COMMIT");
      const results = await Promise.allSettled([put, writes, free]);
      expect(results.map((r) => r.status)).toEqual(["rejected", "rejected", "fulfilled"]);
      await expect(put).rejects.toMatchObject({ code: "FENCED", operation: "put" });
      await expect(writes).rejects.toMatchObject({ code: "FENCED", operation: "putWrites" });
      const { rows } = await admin.query(
        `SELECT 'c:' || thread_id AS r FROM ${checkpoints} WHERE thread_id LIKE 'tk-%'
         UNION ALL SELECT 'w:' || thread_id FROM ${saver.tables.writes} WHERE thread_id LIKE 'tk-%'
         ORDER BY 1`,
      );
      expect(rows.map((r) => r.r)).toEqual(["c:tk-free", "w:tk-free"]);
      expect(saver.batchSizes.get(3)).toBe(1);

      // A task's writes sent alone: the same, on the same statement's guard.
      await admin.query(
        `INSERT INTO ${runs} (thread_id, status, fence, lease_until)
           VALUES ('tk-alone', 'running', 3, now() + interval '1 hour')`,
      );
      saver.attachLease("tk-alone", { fence: 3, leaseSeconds: 600 });
      await takeover.query("BEGIN");
      await takeover.query(`UPDATE ${runs} SET fence = 4 WHERE thread_id = 'tk-alone'`);
      const alone = saver.putWrites(
        { configurable: { thread_id: "tk-alone", checkpoint_ns: "", checkpoint_id: "c1" } },
        [["v", "a"]],
        "task-a",
      );
      await waitingIn("WITH guard AS");
      await takeover.query("COMMIT");
      await expect(alone).rejects.toMatchObject({ code: "FENCED", operation: "putWrites" });
      const { rows: none } = await admin.query(
        `SELECT 1 FROM ${saver.tables.writes} WHERE thread_id = 'tk-alone'`,
      );
      expect(none).toEqual([]);
    } finally {
      await holder.query("ROLLBACK").catch(() => {});
      await takeover.query("ROLLBACK").catch(() => {});
      await Promise.all([holder.end(), takeover.end()]);
      await saver.end();
      await dropSchema(schema, admin);
      await admin.end();
    }
  });
});

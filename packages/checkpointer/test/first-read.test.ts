// getTupleWith runs another statement and getTuple as one (a durable run's claim and its first
// read), and attachLease(…, firstRead) answers the run's first getTuple from that read: once, only
// for the same thread, namespace and checkpoint id, and never after the thread was written.
import { emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import type { PostgresCheckpointer } from "../src/index.js";
import { targets } from "./helpers.js";

const meta = { source: "loop" as const, step: 0, parents: {} };
const cp = (value: unknown) => ({
  ...emptyCheckpoint(),
  id: uuid6(0),
  channel_values: { v: value },
  channel_versions: { v: 1 },
});

describe.each(targets)("a first read answered ahead ($name)", (target) => {
  let made: Awaited<ReturnType<typeof target.create>>;
  let saver: PostgresCheckpointer;
  const ops: string[] = [];
  let seq = 0;
  beforeAll(async () => {
    made = await target.create();
    saver = made.saver;
    saver.onOperation((e) => ops.push(e.operation));
  });
  afterAll(() => made.dispose());

  /** A thread with one checkpoint, read with getTupleWith and a statement that returns 41 + 1. */
  async function readAhead() {
    const thread_id = `fr-${seq++}`;
    await saver.put({ configurable: { thread_id } }, cp("x"), meta, { v: 1 });
    const config = { configurable: { thread_id } };
    ops.length = 0;
    const { tuple, pre } = await saver.getTupleWith(config, "claimForRun()", {
      sql: (first) => `SELECT $${first}::int + 1 AS v`,
      params: [41],
    });
    expect(ops).toEqual(["claimForRun"]);
    expect(pre).toEqual(["42"]);
    expect(tuple?.checkpoint.channel_values).toEqual({ v: "x" });
    return { thread_id, tuple };
  }

  it("runs the statement and the read in one round trip; no checkpoint: no tuple", async () => {
    await readAhead();
    ops.length = 0;
    const none = await saver.getTupleWith({ configurable: { thread_id: "fr-none" } }, "x()", {
      sql: () => "SELECT 'a' AS v UNION ALL SELECT 'b'",
      params: [],
    });
    expect(none).toEqual({ tuple: undefined, pre: ["a", "b"] });
    expect(ops).toEqual(["x"]); // the archive probe rode along
  });

  it("answers the first matching getTuple once, without a statement", async () => {
    const { thread_id, tuple } = await readAhead();
    const detach = saver.attachLease(
      thread_id,
      { fence: 1, leaseSeconds: 60 },
      { threadId: thread_id, checkpointNs: "", tuple },
    );
    // another checkpoint id is not what was read
    ops.length = 0;
    await saver.getTuple({ configurable: { thread_id, checkpoint_id: tuple?.checkpoint.id } });
    expect(ops).toEqual(["getTuple"]);
    ops.length = 0;
    expect(await saver.getTuple({ configurable: { thread_id, checkpoint_ns: "" } })).toBe(tuple);
    expect(ops).toEqual([]);
    // once: the next read goes to the database
    const again = await saver.getTuple({ configurable: { thread_id } });
    expect(again?.checkpoint.id).toBe(tuple?.checkpoint.id);
    expect(again).not.toBe(tuple);
    expect(ops).toEqual(["getTuple"]);
    detach();
  });

  it("is dropped by a write to the thread (from the call on) and by detaching", async () => {
    const first = await readAhead();
    const detach = saver.attachLease(
      first.thread_id,
      { fence: 1, leaseSeconds: 60 },
      { threadId: first.thread_id, checkpointNs: "", tuple: first.tuple },
    );
    const writing = saver.putWrites(
      { configurable: { thread_id: first.thread_id, checkpoint_id: first.tuple?.checkpoint.id } },
      [["v", "y"]],
      "task-1",
    );
    // called before the write lands: still not answered from the stale read
    const read = saver.getTuple({ configurable: { thread_id: first.thread_id } });
    await expect(writing).rejects.toMatchObject({ code: "FENCED" }); // no ledger row: fence 1 fails
    expect(await read).not.toBe(first.tuple);
    detach();

    const second = await readAhead();
    saver.attachLease(
      second.thread_id,
      { fence: 1, leaseSeconds: 60 },
      { threadId: second.thread_id, checkpointNs: "", tuple: second.tuple },
    )();
    ops.length = 0;
    expect(await saver.getTuple({ configurable: { thread_id: second.thread_id } })).not.toBe(
      second.tuple,
    );
    expect(ops).toEqual(["getTuple"]);
  });

  it("a plain getTuple of a new thread is one statement: the archive probe rides along", async () => {
    ops.length = 0;
    expect(
      await saver.getTuple({ configurable: { thread_id: `fr-new-${seq++}` } }),
    ).toBeUndefined();
    expect(ops).toEqual(["getTuple"]);
    const { thread_id } = await readAhead();
    ops.length = 0;
    expect(
      (await saver.getTuple({ configurable: { thread_id } }))?.checkpoint.channel_values,
    ).toEqual({ v: "x" });
    expect(ops).toEqual(["getTuple"]);
  });

  it("an archived thread with no checkpoint still reads as ARCHIVED, with where it went", async () => {
    const thread_id = `fr-archived-${seq++}`;
    await saver.run(
      "test()",
      `INSERT INTO ${saver.tables.archives} (thread_id, location, object_key, bytes, sha256, format_version)
       VALUES ($1, 'file:///tmp/agentstate-test-archive', 'k', 1, 'x', 1)`,
      [thread_id],
    );
    ops.length = 0;
    await expect(saver.getTuple({ configurable: { thread_id } })).rejects.toMatchObject({
      code: "ARCHIVED",
      message: expect.stringContaining("file:///tmp/agentstate-test-archive"),
    });
    // the folded probe found it; the record (location, date) is read only then
    expect(ops).toEqual(["getTuple", "getTuple"]);
    // restored: a new thread again, in one statement
    await saver.run(
      "test()",
      `UPDATE ${saver.tables.archives} SET status = 'restored' WHERE thread_id = $1`,
      [thread_id],
    );
    ops.length = 0;
    expect(await saver.getTuple({ configurable: { thread_id } })).toBeUndefined();
    expect(ops).toEqual(["getTuple"]);
  });
});

describe.each(targets)("getTuple on tables without the archives table ($name)", (target) => {
  it("reads as before: the folded probe is dropped once, the reads go on", async () => {
    const made = await target.create();
    const { saver } = made;
    const ops: string[] = [];
    saver.onOperation((e) => ops.push(e.operation));
    try {
      const thread_id = "no-archives";
      await saver.put({ configurable: { thread_id } }, cp("x"), meta, { v: 1 });
      // What tables created by another saver (or before archives existed) look like.
      await saver.run("test()", `DROP TABLE ${saver.tables.archives}`);
      ops.length = 0;
      expect(
        (await saver.getTuple({ configurable: { thread_id } }))?.checkpoint.channel_values,
      ).toEqual({
        v: "x",
      });
      expect(
        await saver.getTuple({ configurable: { thread_id: "no-archives-new" } }),
      ).toBeUndefined();
      // the first read failed on the missing table and was read again; no error reached the caller
      expect(ops.filter((o) => o === "getTuple").length).toBe(4);
      ops.length = 0;
      expect(
        await saver.getTuple({ configurable: { thread_id: "no-archives-new" } }),
      ).toBeUndefined();
      expect(ops).toEqual(["getTuple", "getTuple"]); // the read, then the probe apart
    } finally {
      await made.dispose();
    }
  });
});

// A durable run's writes carry its fence (attachLease). A guarded write returns no rows: the row
// count of its top-level INSERT says whether the guard held, and only when it cannot tell (a task's
// regular writes that all met rows already stored) does one more statement ask the ledger. Here
// on both databases: the count is the command tag's on Postgres, PGlite's affectedRows embedded.
import { emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import type { PostgresCheckpointer } from "../src/index.js";
import { targets } from "./helpers.js";

const meta = { source: "loop" as const, step: 0, parents: {} };
const cp = (id: string, value: unknown) => ({
  ...emptyCheckpoint(),
  id,
  channel_values: { v: value },
  channel_versions: { v: 1 },
});

describe.each(targets)("a guarded write's fence ($name)", (target) => {
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

  /** A thread whose run holds fence 5 under a lease, attached to the saver. */
  async function leased(status = "running") {
    const thread_id = `g-${seq++}`;
    await saver.run(
      "test",
      `INSERT INTO ${saver.tables.runs} (thread_id, status, fence, lease_until)
       VALUES ($1, $2, 5, now() + interval '1 hour')`,
      [thread_id, status],
    );
    saver.attachLease(thread_id, { fence: 5, leaseSeconds: 600 });
    return thread_id;
  }
  const takeOver = (thread_id: string) =>
    saver.run("test", `UPDATE ${saver.tables.runs} SET fence = 6 WHERE thread_id = $1`, [
      thread_id,
    ]);
  const task = (thread_id: string) => ({
    configurable: { thread_id, checkpoint_ns: "", checkpoint_id: "c1" },
  });
  const stored = async (thread_id: string) =>
    saver.run<{ kind: string; n: number }>(
      "test",
      `SELECT 'checkpoints' AS kind, count(*)::int AS n FROM ${saver.tables.checkpoints} WHERE thread_id = $1
       UNION ALL SELECT 'writes', count(*)::int FROM ${saver.tables.writes} WHERE thread_id = $1
       UNION ALL SELECT 'blobs', count(*)::int FROM ${saver.tables.blobs} WHERE thread_id = $1`,
      [thread_id],
    );

  it("held: a put, a task's writes and its interrupt land, one statement each", async () => {
    const thread_id = await leased();
    ops.length = 0;
    await saver.put({ configurable: { thread_id } }, cp(uuid6(1), "x"), meta, { v: 1 });
    await saver.putWrites(task(thread_id), [["v", "w"]], "task-a");
    await saver.putWrites(task(thread_id), [["__interrupt__", { value: "ask" }]], "task-b");
    expect(ops).toEqual(["put", "putWrites", "putWrites"]);
    expect(await stored(thread_id)).toEqual([
      { kind: "checkpoints", n: 1 },
      { kind: "writes", n: 2 },
      { kind: "blobs", n: 1 },
    ]);
  });

  it("held: a task's writes sent again land nowhere, keep the first, and the ledger says the fence held", async () => {
    const thread_id = await leased();
    await saver.putWrites(task(thread_id), [["v", "first"]], "task-a");
    ops.length = 0;
    await saver.putWrites(task(thread_id), [["v", "second"]], "task-a");
    // No row landed (the write was there): the count cannot tell, so the ledger is asked.
    expect(ops).toEqual(["putWrites", "putWrites"]);
    const pending = await saver.run<{ blob: Uint8Array; type: string }>(
      "test",
      `SELECT type, blob FROM ${saver.tables.writes} WHERE thread_id = $1`,
      [thread_id],
    );
    expect(pending).toHaveLength(1);
    const [first] = pending;
    expect(await saver.serde.loadsTyped(first?.type ?? "", first?.blob ?? new Uint8Array())).toBe(
      "first",
    );
  });

  it("taken over: a put, an interrupt and a task's writes are FENCED and store nothing", async () => {
    const thread_id = await leased();
    await takeOver(thread_id);
    ops.length = 0;
    await expect(
      saver.put({ configurable: { thread_id } }, cp(uuid6(2), "x"), meta, { v: 1 }),
    ).rejects.toMatchObject({ code: "FENCED", operation: "put" });
    // An upsert counts every row it lets through: 0 proves the guard failed, no second statement.
    expect(ops).toEqual(["put"]);
    ops.length = 0;
    await expect(
      saver.putWrites(task(thread_id), [["__interrupt__", { value: "ask" }]], "task-b"),
    ).rejects.toMatchObject({ code: "FENCED", operation: "putWrites" });
    expect(ops).toEqual(["putWrites"]);
    ops.length = 0;
    await expect(saver.putWrites(task(thread_id), [["v", "w"]], "task-a")).rejects.toMatchObject({
      code: "FENCED",
      operation: "putWrites",
    });
    expect(ops).toEqual(["putWrites", "putWrites"]);
    expect(await stored(thread_id)).toEqual([
      { kind: "checkpoints", n: 0 },
      { kind: "writes", n: 0 },
      { kind: "blobs", n: 0 },
    ]);
  });

  it("settled under the same fence: writes are FENCED", async () => {
    const thread_id = await leased("completed");
    await expect(
      saver.put({ configurable: { thread_id } }, cp(uuid6(3), "x"), meta, { v: 1 }),
    ).rejects.toMatchObject({ code: "FENCED" });
    await expect(saver.putWrites(task(thread_id), [["v", "w"]], "task-a")).rejects.toMatchObject({
      code: "FENCED",
    });
  });
});

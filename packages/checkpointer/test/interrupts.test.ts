// Issue 8.1: one task writing a special channel twice (a node that calls interrupt() twice), alone and in group commit.
import type { RunnableConfig } from "@langchain/core/runnables";
import {
  Annotation,
  Command,
  END,
  interrupt,
  MemorySaver,
  START,
  StateGraph,
} from "@langchain/langgraph";
import {
  type BaseCheckpointSaver,
  type CheckpointTuple,
  emptyCheckpoint,
  type PendingWrite,
  uuid6,
} from "@langchain/langgraph-checkpoint";
import { type Database, PostgresCheckpointer } from "../src/index.js";
import { targets } from "./helpers.js";

/** One node asks three questions in a row: each resume re-runs it and replays earlier answers. */
function threeQuestions(checkpointer: BaseCheckpointSaver) {
  const State = Annotation.Root({
    answers: Annotation<string[]>({ reducer: (a, b) => [...a, ...b], default: () => [] }),
  });
  return new StateGraph(State)
    .addNode("ask", async () => {
      const first = interrupt("first?") as string;
      const second = interrupt("second?") as string;
      const third = interrupt("third?") as string;
      return { answers: [first, second, third] };
    })
    .addEdge(START, "ask")
    .addEdge("ask", END)
    .compile({ checkpointer });
}

const NULL_TASK = "00000000-0000-0000-0000-000000000000";

/** Pending writes in stored order, without task ids (they derive from time-based checkpoint ids). */
const writesOf = (writes: CheckpointTuple["pendingWrites"]) =>
  (writes ?? []).map(([task, channel, value]) => [
    task === NULL_TASK ? "command" : task === "task" ? "task" : "other",
    channel,
    value,
  ]);

/** Everything a user can observe after each step: output, interrupts, history with pending writes. */
async function drive(saver: BaseCheckpointSaver, threadId: string) {
  const graph = threeQuestions(saver);
  const config = { configurable: { thread_id: threadId } };
  const seen: unknown[] = [];
  const observe = async (out: unknown) => {
    const state = await graph.getState(config);
    const history: unknown[] = [];
    for await (const t of saver.list(config)) history.push(writesOf(t.pendingWrites));
    seen.push({
      out,
      next: state.next,
      interrupts: state.tasks.flatMap((t) => t.interrupts.map((i) => i.value)),
      history,
    });
  };
  await observe(await graph.invoke({ answers: [] }, config));
  for (const answer of ["a", "b", "c"]) {
    await observe(await graph.invoke(new Command({ resume: answer }), config));
  }
  // interrupt ids hash the task, whose id derives from a time-based checkpoint id
  return JSON.parse(JSON.stringify(seen), (k, v) => (k === "id" ? "<id>" : v));
}

/** Holds an exclusive lock on the writes table (PGlite: the whole instance) until released. */
async function hold(db: Database, table: string) {
  let release!: () => void;
  const released = new Promise<void>((r) => {
    release = r;
  });
  let locked!: () => void;
  const isLocked = new Promise<void>((r) => {
    locked = r;
  });
  const done = db.transaction(async (tx) => {
    await tx.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
    locked();
    await released;
  });
  await isLocked;
  return async () => {
    release();
    await done;
  };
}

/** Lets pending serialization finish, so every write submitted so far is queued or sent. */
const settle = () => new Promise((r) => setImmediate(r));

describe.each(targets)("a task that writes a special channel twice ($name)", (target) => {
  let made: Awaited<ReturnType<typeof target.create>>;
  beforeAll(async () => {
    made = await target.create();
  });
  afterAll(() => made.dispose());

  it("interrupt() twice in one node: resumed answers land as with MemorySaver", async () => {
    const ours = await drive(made.saver, "twice");
    expect(ours.at(-1)).toMatchObject({ out: { answers: ["a", "b", "c"] }, next: [] });
    expect(ours).toEqual(await drive(new MemorySaver(), "twice"));
  });

  it("the same, writing through group commit with every write coalescible", async () => {
    const saver = new PostgresCheckpointer(made.saver.db, undefined, {
      schema: made.saver.options.schema,
      maxConcurrentWrites: 1,
    });
    expect(await drive(saver, "twice-grouped")).toEqual(await drive(new MemorySaver(), "x"));
  });

  it("concurrent putWrites of one task in one combined statement: last call wins per special idx", async () => {
    const saver = new PostgresCheckpointer(made.saver.db, undefined, {
      schema: made.saver.options.schema,
      maxConcurrentWrites: 1,
    });
    const operations: string[] = [];
    saver.onOperation((e) => operations.push(`${e.operation}:${e.ok}`));
    const memory = new MemorySaver();
    const base = { configurable: { thread_id: "grouped", checkpoint_ns: "" } };
    const checkpoint = { ...emptyCheckpoint(), id: uuid6(0) };
    const meta = { source: "loop" as const, step: 0, parents: {} };
    const config = await saver.put(base, checkpoint, meta, {});
    const memoryConfig = await memory.put(base, checkpoint, meta);
    const calls: PendingWrite[][] = [
      [
        ["__resume__", "r1"],
        ["__interrupt__", "i1"],
        ["x", "first"],
      ],
      [
        ["__resume__", "r2a"],
        ["__resume__", "r2b"],
        ["x", "second"],
      ],
      [["__error__", "e3"]],
    ];
    const unlock = await hold(saver.db, saver.tables.writes);
    const blocker = saver.putWrites(config, [["y", "blocker"]], "other-task");
    await settle();
    const pending = calls.map((writes) => saver.putWrites(config, writes, "task", "p"));
    await settle();
    await unlock();
    await Promise.all([blocker, ...pending]);
    for (const writes of calls) await memory.putWrites(memoryConfig, writes, "task");
    await memory.putWrites(memoryConfig, [["y", "blocker"]], "other-task");
    // the three calls went as one statement, which succeeded (no write-by-write retry)
    expect(operations.filter((o) => o !== "put:true")).toEqual([
      "putWrites:true",
      "writeBatch:true",
    ]);
    const stored = writesOf((await saver.getTuple(config))?.pendingWrites);
    expect(stored).toEqual(writesOf((await memory.getTuple(memoryConfig))?.pendingWrites));
    // (task_path, task_id, idx): "other-task" has path "", then the special idx -4, -3, -1, then 0
    expect(stored).toEqual([
      ["other", "y", "blocker"],
      ["task", "__resume__", "r2b"],
      ["task", "__interrupt__", "i1"],
      ["task", "__error__", "e3"],
      ["task", "x", "first"],
    ]);
  });

  it("a write of a row that an in-flight statement writes waits for it, then wins", async () => {
    const inner = made.saver.db;
    const sent: string[] = [];
    const recording: Database = {
      kind: inner.kind,
      query: (text, params, options) => {
        sent.push(text);
        return inner.query(text, params, options);
      },
      transaction: (fn) => inner.transaction(fn),
      end: async () => {},
    };
    const saver = new PostgresCheckpointer(recording, undefined, {
      schema: made.saver.options.schema,
      maxConcurrentWrites: 2,
    });
    const config: RunnableConfig = {
      configurable: { thread_id: "in-flight", checkpoint_ns: "", checkpoint_id: uuid6(0) },
    };
    const unlock = await hold(inner, saver.tables.writes);
    const first = saver.putWrites(config, [["__resume__", "first"]], "task");
    await settle();
    const second = saver.putWrites(config, [["__resume__", "second"]], "task");
    await settle();
    // a free slot, yet the second write is held back: it would race the first for the row
    expect(sent).toHaveLength(1);
    await unlock();
    await Promise.all([first, second]);
    expect(sent).toHaveLength(2);
    const { rows } = await inner.query<{ blob: Uint8Array }>(
      `SELECT blob FROM ${saver.tables.writes} WHERE thread_id = 'in-flight'`,
    );
    expect(rows.map((r) => new TextDecoder().decode(r.blob))).toEqual(['"second"']);
  });
});

// Durable runs cost no extra round trip per step: the lease rides on the checkpoint writes, and
// those writes join group commit like any other. Counted statement by statement, on Postgres.
import { PostgresCheckpointer } from "@agentstate/checkpointer";
import { Annotation, END, interrupt, START, StateGraph } from "@langchain/langgraph";
import { readRun, runDurably } from "../src/index.js";
import { postgresReachable, testSaver, uniqueSchema, waitFor } from "./helpers.js";

const pgUp = await postgresReachable();

const State = Annotation.Root({
  n: Annotation<number>({ reducer: (a, b) => a + b, default: () => 0 }),
});

/** A chain of `steps` nodes that each add 1: every step is one task's writes and one put. */
function chain(saver: PostgresCheckpointer, steps: number) {
  const g: any = new StateGraph(State);
  for (let i = 1; i <= steps; i += 1) g.addNode(`s${i}`, () => ({ n: 1 }));
  g.addEdge(START, "s1");
  for (let i = 1; i < steps; i += 1) g.addEdge(`s${i}`, `s${i + 1}`);
  g.addEdge(`s${steps}`, END);
  return g.compile({ checkpointer: saver });
}

describe.skipIf(!pgUp)("durable runs: round trips", () => {
  let env: Awaited<ReturnType<typeof testSaver>>;
  const ops: string[] = [];
  let seq = 0;
  beforeAll(async () => {
    env = await testSaver(uniqueSchema("roundtrips"));
    env.saver.onOperation((e) => ops.push(e.operation));
  });
  afterAll(() => env?.dispose());

  /** Statements one run of a `steps`-long chain sends, by operation. */
  async function count(steps: number, durable: boolean): Promise<Map<string, number>> {
    const graph = chain(env.saver, steps);
    const config = { configurable: { thread_id: `rt-${seq++}` }, durability: "sync" as const };
    ops.length = 0;
    if (durable) expect(await runDurably(graph, { n: 0 }, config)).toEqual({ n: steps });
    else expect(await graph.invoke({ n: 0 }, config)).toEqual({ n: steps });
    const tally = new Map<string, number>();
    for (const op of ops) tally.set(op, (tally.get(op) ?? 0) + 1);
    return tally;
  }
  const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

  it("every further step costs a durable run exactly what it costs a plain run", async () => {
    const plain5 = await count(5, false);
    const plain15 = await count(15, false);
    const durable5 = await count(5, true);
    const durable15 = await count(15, true);
    const perTenPlain = total(plain15) - total(plain5);
    const perTenDurable = total(durable15) - total(durable5);
    expect(perTenPlain).toBe(20); // a task's writes and a checkpoint per step
    expect(perTenDurable).toBe(perTenPlain);
    // Leased writes are the same put/putWrites statements (the guard is a CTE inside them).
    expect(durable15.get("put")).toBe(plain15.get("put"));
    expect(durable15.get("putWrites")).toBe(plain15.get("putWrites"));
    // What a durable run adds is per run, not per step: the claim, which reads the checkpoint
    // the run starts from in the same statement (so the graph's first getTuple costs nothing),
    // and the recorded outcome (which also says whether inputs are queued). It settles from what
    // it wrote, without reading the thread back. A plain run's first read of a new thread is one
    // statement too (the archive probe rides in it), so the outcome is the one statement added.
    expect(plain15.get("getTuple")).toBe(1);
    expect(durable15.get("getTuple")).toBeUndefined();
    expect(durable15.get("claimForRun")).toBe(1);
    expect(durable15.get("finishRun")).toBe(1);
    expect(total(durable15) - total(plain15)).toBe(1);
  });

  it("a further run on a settled thread: the claim carries the read, the outcome is the one statement added", async () => {
    const graph = chain(env.saver, 3);
    const id = `rt-again-${seq++}`;
    const config = { configurable: { thread_id: id }, durability: "sync" as const };
    await runDurably(graph, { n: 0 }, config);
    const tally = async (durable: boolean) => {
      ops.length = 0;
      const out = durable
        ? await runDurably(graph, { n: 0 }, config)
        : await graph.invoke({ n: 0 }, config);
      const m = new Map<string, number>();
      for (const op of ops) m.set(op, (m.get(op) ?? 0) + 1);
      return { out, m };
    };
    const plain = await tally(false);
    const durable = await tally(true);
    expect(plain.out).toEqual({ n: 6 });
    expect(durable.out).toEqual({ n: 9 });
    expect(plain.m.get("getTuple")).toBe(1);
    expect(durable.m.get("getTuple")).toBeUndefined();
    expect(durable.m.get("claimForRun")).toBe(1);
    expect(total(durable.m) - total(plain.m)).toBe(1);
    expect((await readRun(env.saver, id))?.status).toBe("completed");
  });

  it("a thread whose last run still holds the ledger row (crashed, lease lapsed) is claimed first, then read", async () => {
    const graph = chain(env.saver, 2);
    const id = `rt-crashed-${seq++}`;
    const config = { configurable: { thread_id: id }, durability: "sync" as const };
    await runDurably(graph, { n: 0 }, config);
    // What a run killed mid-step leaves: status running, its lease lapsed.
    await env.pool.query(
      `UPDATE ${env.saver.tables.runs} SET status = 'running', lease_until = now() - interval '1 second' WHERE thread_id = $1`,
      [id],
    );
    ops.length = 0;
    expect(await runDurably(graph, { n: 0 }, config)).toEqual({ n: 4 });
    // The claim that carries the read refuses (a writer of the old run could still commit after
    // the read's snapshot), the plain claim takes over, and the graph reads after it.
    expect(ops.filter((op) => op === "claimForRun").length).toBe(2);
    expect(ops.filter((op) => op === "getTuple").length).toBe(1);
  });

  it("a ledger row that changes while the claim waits for it sends the run the sequential way", async () => {
    const graph = chain(env.saver, 2);
    const id = `rt-changed-${seq++}`;
    const config = { configurable: { thread_id: id }, durability: "sync" as const };
    await runDurably(graph, { n: 0 }, config);
    // Another session updates the row and holds it until the claim is waiting on it.
    const other = await env.pool.connect();
    try {
      await other.query("BEGIN");
      await other.query(
        `UPDATE ${env.saver.tables.runs} SET updated_at = now() WHERE thread_id = $1`,
        [id],
      );
      ops.length = 0;
      const run = runDurably(graph, { n: 0 }, config);
      await waitFor(async () => {
        const { rows } = await env.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE wait_event_type = 'Lock' AND query LIKE '%seen AS (SELECT xmin%'`,
        );
        return rows[0]!.n > 0;
      }, "the claim to wait on the row lock");
      await other.query("COMMIT");
      expect(await run).toEqual({ n: 4 });
    } finally {
      other.release();
    }
    // The row the claim found is not the row its snapshot saw: no claim with that read.
    expect(ops.filter((op) => op === "claimForRun").length).toBe(2);
    expect(ops.filter((op) => op === "getTuple").length).toBe(1);
    expect((await readRun(env.saver, id))?.status).toBe("completed");
  });

  it("a run settles from its own writes as a read-back would: completed, interrupt, breakpoint", async () => {
    const build = (ask: boolean, breakpoint: boolean): any => {
      const g: any = new StateGraph(State)
        .addNode("a", () => ({ n: 1 }))
        .addNode("b", () => {
          if (ask) interrupt("ok?");
          return { n: 1 };
        })
        .addEdge(START, "a")
        .addEdge("a", "b")
        .addEdge("b", END);
      return g.compile({ checkpointer: env.saver, interruptBefore: breakpoint ? ["b"] : [] });
    };
    const cases = [
      { name: "plain", graph: build(false, false), status: "completed" },
      { name: "interrupt", graph: build(true, false), status: "waiting" },
      { name: "breakpoint", graph: build(false, true), status: "waiting" },
    ];
    for (const c of cases) {
      const config = { configurable: { thread_id: `rt-settle-${c.name}-${seq++}` } };
      await runDurably(c.graph, { n: 0 }, config);
      const run = await readRun(env.saver, config.configurable.thread_id);
      const state = await c.graph.getState(config);
      expect({ name: c.name, status: run?.status, head: run?.headCheckpointId }).toEqual({
        name: c.name,
        status: c.status,
        head: state.config.configurable.checkpoint_id,
      });
    }
  });

  it("leased writes and outcomes of concurrent runs share group-commit statements", async () => {
    const saver = new PostgresCheckpointer(env.saver.db, undefined, {
      schema: env.saver.options.schema,
      maxConcurrentWrites: 1,
    });
    const statements: string[] = [];
    saver.onOperation((e) => statements.push(e.operation));
    const before = new Map(saver.batchSizes);
    const graph = chain(saver, 6);
    const ids = Array.from({ length: 8 }, (_, i) => `rt-gc-${seq}-${i}`);
    const results = await Promise.all(
      ids.map((id) => runDurably(graph, { n: 0 }, { configurable: { thread_id: id } })),
    );
    expect(results).toEqual(Array.from({ length: 8 }, () => ({ n: 6 })));
    // Outcomes that met others in the queue went in a combined statement, not alone.
    expect(statements.filter((op) => op === "finishRun").length).toBeLessThan(8);
    for (const id of ids) {
      const run = await readRun(env.saver, id);
      const state = await graph.getState({ configurable: { thread_id: id } });
      expect({ status: run?.status, head: run?.headCheckpointId }).toEqual({
        status: "completed",
        head: state.config.configurable.checkpoint_id,
      });
    }
    let shared = 0;
    for (const [size, n] of saver.batchSizes) {
      if (size > 1) shared += n - (before.get(size) ?? 0);
    }
    expect(shared).toBeGreaterThan(0);
  });
});

// A sweep's candidates go stale when other workers sweep too: between the candidate query and a
// thread's turn another worker claims it, or finishes it. Such a thread costs one statement (its
// ledger row, read with its head checkpoint) and is reported as a full classification would
// report it, without the graph looking at it; a thread still stuck is classified on what that
// statement read and resumed as before. Counted statement by statement, on Postgres.
import { PostgresCheckpointer } from "@agentstate/checkpointer";
import { Annotation, END, START, StateGraph } from "@langchain/langgraph";
import pg from "pg";
import { classifyFromLedger } from "../src/detect.js";
import {
  checkStuckState,
  type RecoverResult,
  RecoveryService,
  readRun,
  recoverStuckSession,
  resolveRecoveryOptions,
} from "../src/index.js";
import { claimForRecovery } from "../src/ledger/claims.js";
import type { CandidateFacts } from "../src/ledger/records.js";
import type { RunRecord } from "../src/types.js";
import { DATABASE_URL, postgresReachable, testSaver, uniqueSchema } from "./helpers.js";

const up = await postgresReachable();
const cfg = (thread_id: string) => ({ configurable: { thread_id } });

const State = Annotation.Root({
  n: Annotation<number>({ reducer: (a, b) => a + b, default: () => 0 }),
});

/** A chain of `steps` nodes that each add 1. */
function chain(saver: PostgresCheckpointer, steps: number, interruptBefore: string[] = []) {
  const g: any = new StateGraph(State);
  for (let i = 1; i <= steps; i += 1) g.addNode(`s${i}`, () => ({ n: 1 }));
  g.addEdge(START, "s1");
  for (let i = 1; i < steps; i += 1) g.addEdge(`s${i}`, `s${i + 1}`);
  g.addEdge(`s${steps}`, END);
  return g.compile({ checkpointer: saver, interruptBefore });
}

describe("classifyFromLedger: what the row alone decides", () => {
  const at = new Date("2026-01-01T00:00:00Z");
  const row = (over: Partial<RunRecord>): RunRecord => ({
    threadId: "t",
    status: "running",
    owner: "w",
    leaseUntil: at,
    heartbeatAt: at,
    fence: 3,
    attempts: 1,
    nextAttemptAt: null,
    lastError: null,
    errorKind: null,
    needsReview: false,
    graphId: "g",
    headCheckpointId: "c2",
    startedAt: at,
    updatedAt: at,
    details: {},
    leaseLive: false,
    due: true,
    ...over,
  });
  const facts = (run: RunRecord | undefined, over: Partial<CandidateFacts> = {}) => ({
    run,
    lastCheckpointAt: at,
    idleSeconds: 60,
    head: "c2",
    queued: false,
    ...over,
  });
  const decided = (f: CandidateFacts) => classifyFromLedger("t", f)?.state;

  it("a live lease of a run or a recovery: running, with or without a checkpoint", () => {
    expect(decided(facts(row({ leaseLive: true })))).toBe("running");
    expect(decided(facts(row({ status: "recovering", leaseLive: true }), { head: null }))).toBe(
      "running",
    );
    expect(classifyFromLedger("t", facts(row({ leaseLive: true })))).toMatchObject({
      state: "running",
      isStuck: false,
      canRecover: false,
      tracked: true,
      owner: "w",
      attempts: 1,
      headCheckpointId: "c2",
      reason: `lease held by w until ${at.toISOString()}`,
    });
  });

  it("completed at the current head with nothing queued: completed", () => {
    expect(decided(facts(row({ status: "completed", owner: null })))).toBe("completed");
  });

  it("anything else goes through the graph", () => {
    // Expired lease (crashed), no row (untracked), a drain reserved for a handoff, a backoff.
    expect(decided(facts(row({})))).toBeUndefined();
    expect(decided(facts(undefined))).toBeUndefined();
    expect(decided(facts(row({ status: "drained", leaseLive: true })))).toBeUndefined();
    expect(decided(facts(row({ status: "failed", due: false })))).toBeUndefined();
    // Completed, but the thread moved on since (continued outside runDurably), or inputs are
    // queued behind it (a recovery runs them), or it has no checkpoint.
    expect(decided(facts(row({ status: "completed" }), { head: "c3" }))).toBeUndefined();
    expect(decided(facts(row({ status: "completed" }), { queued: true }))).toBeUndefined();
    expect(decided(facts(row({ status: "completed" }), { head: null }))).toBeUndefined();
    // Waiting (an interrupt or a breakpoint) and dead are the graph's and the policy's to tell.
    expect(decided(facts(row({ status: "waiting" })))).toBeUndefined();
    expect(decided(facts(row({ status: "dead" })))).toBeUndefined();
  });
});

describe.skipIf(!up)("sweep: candidates other workers took since the candidate query", () => {
  const schema = uniqueSchema("sweepcand");
  let env: Awaited<ReturnType<typeof testSaver>>;
  /** Another worker: its own pool and checkpointer on the same schema (its statements not counted). */
  let otherPool: pg.Pool;
  let other: PostgresCheckpointer;
  const ops: string[] = [];
  beforeAll(async () => {
    env = await testSaver(schema);
    env.saver.onOperation((e) => ops.push(e.operation));
    otherPool = new pg.Pool({ connectionString: DATABASE_URL, max: 4 });
    other = new PostgresCheckpointer(otherPool, undefined, { schema });
  });
  afterAll(async () => {
    await otherPool?.end();
    await env?.dispose();
  });

  /** A 6-step chain stopped after step 1 whose run's lease expired: what a dead worker leaves. */
  async function crashed(threadId: string) {
    await chain(env.saver, 6, ["s2"]).invoke({ n: 0 }, cfg(threadId));
    await env.pool.query(
      `INSERT INTO "${schema}".agentstate_runs
         (thread_id, status, owner, lease_until, heartbeat_at, fence, head_checkpoint_id)
       SELECT $1, 'running', 'dead-worker', now() - interval '1 minute', now() - interval '70 seconds', 1,
         (SELECT max(checkpoint_id) FROM "${schema}".checkpoints WHERE thread_id = $1)`,
      [threadId],
    );
  }

  /** The thread's ledger row and checkpoint count, read through the other worker's pool. */
  const stateOf = async (threadId: string) => ({
    run: await readRun(other, threadId),
    checkpoints: Number(
      (
        await otherPool.query(
          `SELECT count(*)::int AS n FROM "${schema}".checkpoints WHERE thread_id = $1`,
          [threadId],
        )
      ).rows[0].n,
    ),
  });

  /** Runs `meanwhile` right after the first candidate query of `service`'s sweep returned. */
  function afterFirstCandidateQuery(meanwhile: () => Promise<void>): () => void {
    const saver = env.saver as PostgresCheckpointer & { run: PostgresCheckpointer["run"] };
    const original = saver.run;
    let done = false;
    saver.run = async function (this: PostgresCheckpointer, ...args: Parameters<typeof original>) {
      const rows = await original.apply(this, args);
      if (args[0] === "findCandidates()" && !done) {
        done = true;
        await meanwhile();
      }
      return rows;
    } as typeof original;
    return () => {
      saver.run = original;
    };
  }

  it("one held by another worker's live lease is already_running and one it finished is not_stuck, after one statement each", async () => {
    await crashed("held");
    await crashed("finished");
    const otherOptions = resolveRecoveryOptions({ owner: "other-worker" });
    const left: Record<string, Awaited<ReturnType<typeof stateOf>>> = {};
    const restore = afterFirstCandidateQuery(async () => {
      // Another worker claims one (and is resuming it), and resumes the other to completion.
      const head = (await checkStuckState("held", chain(other, 6))).headCheckpointId as string;
      const claim = await claimForRecovery(other, {
        threadId: "held",
        expectedHead: head,
        graphId: null,
        options: otherOptions,
      });
      expect(claim).toBeDefined();
      const done = await recoverStuckSession("finished", chain(other, 6), {
        owner: "other-worker",
      });
      expect(done).toMatchObject({ status: "resumed", outcome: "completed" });
      left.held = await stateOf("held");
      left.finished = await stateOf("finished");
    });
    let sweep: Awaited<ReturnType<RecoveryService["sweep"]>>;
    ops.length = 0;
    try {
      sweep = await new RecoveryService(chain(env.saver, 6), {
        concurrency: 2,
        includeUntracked: false,
      }).sweep();
    } finally {
      restore();
    }
    // The candidate query, one ledger read per candidate, and the query that finds none left:
    // no state read through the graph, no claim, no queue, no ledger write.
    expect([...ops].sort()).toEqual([
      "findCandidates",
      "findCandidates",
      "readCandidateFacts",
      "readCandidateFacts",
    ]);
    expect(sweep.counts).toEqual({ already_running: 1, not_stuck: 1 });
    const byId = new Map(sweep.results.map((r) => [r.threadId, r as RecoverResult]));
    const held = byId.get("held");
    const finished = byId.get("finished");
    expect(held).toMatchObject({
      status: "already_running",
      reason: expect.stringMatching(/^lease held by other-worker until /),
      before: { state: "running", isStuck: false, canRecover: false, owner: "other-worker" },
    });
    expect(finished).toMatchObject({
      status: "not_stuck",
      reason: "no pending work",
      before: { state: "completed", isStuck: false, canRecover: false, tracked: true },
    });

    // Nothing was resumed or written: the other worker's claim stands, the finished run's record
    // is as it left it, and neither thread has a checkpoint more.
    expect(left.held?.run).toMatchObject({ status: "recovering", owner: "other-worker" });
    expect(left.finished?.run).toMatchObject({ status: "completed", owner: null });
    expect(await stateOf("held")).toEqual(left.held);
    expect(await stateOf("finished")).toEqual(left.finished);

    // What a full classification says of the same threads: the same state, reason and ledger
    // fields (the row alone decided them; only what the graph would add is left out).
    const ledgerFields = (s: RecoverResult["before"]) => ({
      state: s.state,
      isStuck: s.isStuck,
      canRecover: s.canRecover,
      reason: s.reason,
      tracked: s.tracked,
      attempts: s.attempts,
      owner: s.owner,
      leaseUntil: s.leaseUntil,
      headCheckpointId: s.headCheckpointId,
      lastCheckpointAt: s.lastCheckpointAt,
      graphId: s.graphId,
      retryAt: s.retryAt,
      needsReview: s.needsReview,
    });
    const graph = chain(env.saver, 6);
    for (const r of [held, finished] as RecoverResult[]) {
      const full = await checkStuckState(r.threadId, graph);
      expect(ledgerFields(r.before)).toEqual(ledgerFields(full));
      expect(r.before).toMatchObject({ lastNode: null, next: [], pendingToolCalls: [] });
    }
  });

  it("a candidate still stuck is classified on what that one statement read and resumed once", async () => {
    await crashed("still");
    const before = await stateOf("still");
    ops.length = 0;
    const sweep = await new RecoveryService(chain(env.saver, 6), {
      includeUntracked: false,
    }).sweep();
    expect(sweep.results).toEqual([
      expect.objectContaining({
        threadId: "still",
        status: "resumed",
        outcome: "completed",
        before: expect.objectContaining({ state: "crashed", lastNode: "s1", next: ["s2"] }),
      }),
    ]);
    const count = (op: string) => ops.filter((o) => o === op).length;
    // One statement read the row and the head checkpoint; the classification reads nothing
    // more (the one getTuple is the resumed run's own first read, after its claim).
    expect(count("readCandidateFacts")).toBe(1);
    expect(count("readThreadFacts")).toBe(0);
    expect(count("getTuple")).toBe(1);
    expect(count("claimForRecovery")).toBe(1);
    expect(await readRun(env.saver, "still")).toMatchObject({ status: "completed" });
    expect((await stateOf("still")).checkpoints).toBe(before.checkpoints + 5); // s2 … s6
  });

  it("a sweep takes a few rounds of each page at random and still reaches every candidate; maxThreads caps it", async () => {
    const ids = Array.from({ length: 30 }, (_, i) => `many-${String(i).padStart(2, "0")}`);
    for (const id of ids) await crashed(id);
    // Concurrency 2: 8 taken of each page of 100, so the sweep queries again for the rest.
    const capped = await new RecoveryService(chain(env.saver, 6), {
      concurrency: 2,
      includeUntracked: false,
      maxThreads: 11,
    }).sweep();
    expect(capped.scanned).toBe(11);
    expect(capped.counts).toEqual({ resumed: 11 });
    const sweep = await new RecoveryService(chain(env.saver, 6), {
      concurrency: 2,
      includeUntracked: false,
    }).sweep();
    expect(sweep.counts).toEqual({ resumed: 19 });
    const resumed = [...capped.results, ...sweep.results].map((r) => r.threadId).sort();
    expect(resumed).toEqual(ids);
    for (const id of ids) expect((await readRun(env.saver, id))?.status).toBe("completed");
  });
});

import { Command } from "@langchain/langgraph";
import {
  checkStuckState,
  RecoveryService,
  readRun,
  recoverStuckSession,
  runDurably,
  streamDurably,
} from "../src/index.js";
import {
  breakpointGraph,
  interruptGraph,
  type StepBehavior,
  stepsGraph,
  unavailable,
} from "./fixtures/graphs.js";
import { postgresReachable, sleep, testSaver, uniqueSchema, waitFor } from "./helpers.js";

const up = await postgresReachable();
const cfg = (thread_id: string) => ({ configurable: { thread_id } });

describe.skipIf(!up)("run lifecycle: live, waiting, failing, dead", () => {
  const schema = uniqueSchema("life");
  let env: Awaited<ReturnType<typeof testSaver>>;
  beforeAll(async () => {
    env = await testSaver(schema);
  });
  afterAll(async () => {
    await env.dispose();
  });

  it("a live run in a slow step holds its lease: not stuck, not swept, not resumable twice", async () => {
    const b: StepBehavior = { runs: {}, slowMs: 2500 };
    const graph = stepsGraph(env.saver, b);
    const opts = { leaseSeconds: 1, heartbeatMs: 200 };
    const running = runDurably(graph, { log: [] }, cfg("live"), opts);
    await waitFor(async () => b.runs.slow === 1, "the slow step to start");
    await sleep(1200); // longer than the lease: only the heartbeat keeps it alive
    const state = await checkStuckState("live", graph, opts);
    expect(state).toMatchObject({ state: "running", isStuck: false, canRecover: false });
    const service = new RecoveryService(graph, opts);
    expect((await service.findStuckThreads()).map((s) => s.threadId)).not.toContain("live");
    expect((await service.sweep()).results.map((r) => r.threadId)).not.toContain("live");
    expect((await recoverStuckSession("live", graph, opts)).status).toBe("already_running");
    await expect(runDurably(graph, { log: [] }, cfg("live"), opts)).rejects.toMatchObject({
      code: "LEASE_HELD",
    });
    const final = (await running) as { log: string[] };
    expect(final.log).toEqual(["step1", "step2", "slow", "step3"]);
    expect(b.runs).toEqual({ step1: 1, step2: 1, slow: 1, step3: 1 });
    expect(await readRun(env.saver, "live")).toMatchObject({ status: "completed", owner: null });
  });

  it("a thread waiting on interrupt() is waiting, never resumed; a human's resume completes it", async () => {
    const graph = interruptGraph(env.saver);
    const out = (await runDurably(graph, { log: [] }, cfg("hitl"))) as Record<string, unknown>;
    expect(out.__interrupt__).toBeDefined();
    expect(await readRun(env.saver, "hitl")).toMatchObject({ status: "waiting" });
    const state = await checkStuckState("hitl", graph, { graceSeconds: 0 });
    expect(state).toMatchObject({ state: "waiting", isStuck: false, next: ["ask"] });
    expect(state.reason).toContain("interrupt() in ask");
    const r = await recoverStuckSession("hitl", graph, { graceSeconds: 0, force: true });
    expect(r.status).toBe("waiting");
    const sweep = await new RecoveryService(graph, { graceSeconds: 0 }).sweep();
    expect(sweep.results.filter((x) => x.status === "resumed")).toEqual([]);
    const done = (await runDurably(graph, new Command({ resume: "yes" }), cfg("hitl"))) as {
      answer: string;
    };
    expect(done.answer).toBe("yes");
    expect((await checkStuckState("hitl", graph)).state).toBe("completed");
  });

  it("an outcome lost with the server (it commits lazily) leaves a lapsed lease; recovery settles it from the checkpoints and runs nothing again", async () => {
    const b: StepBehavior = { runs: {} };
    const graph = stepsGraph(env.saver, b);
    const hitl = interruptGraph(env.saver);
    await runDurably(graph, { log: [] }, cfg("lost-done"));
    await runDurably(hitl, { log: [] }, cfg("lost-wait"));
    const before = await readRun(env.saver, "lost-done");
    // The rows as a server crash that lost both outcomes' commits leaves them: still running, and
    // the owner's lease lapsed (the claims committed; the checkpoints were written durably).
    await env.pool.query(
      `UPDATE ${env.saver.tables.runs} SET status = 'running', owner = 'gone',
         lease_until = now() - interval '1 second', head_checkpoint_id = NULL
       WHERE thread_id IN ('lost-done', 'lost-wait')`,
    );
    expect(await checkStuckState("lost-done", graph)).toMatchObject({ isStuck: false });
    expect((await recoverStuckSession("lost-done", graph)).status).toBe("not_stuck");
    expect(b.runs).toEqual({ step1: 1, step2: 1, slow: 1, step3: 1 });
    const done = await readRun(env.saver, "lost-done");
    expect(done).toMatchObject({ status: "completed", owner: null });
    expect(done?.headCheckpointId).toBe(before?.headCheckpointId);
    const waiting = await checkStuckState("lost-wait", hitl, { graceSeconds: 0 });
    expect(waiting).toMatchObject({ state: "waiting", isStuck: false, next: ["ask"] });
    expect((await recoverStuckSession("lost-wait", hitl, { graceSeconds: 0 })).status).toBe(
      "waiting",
    );
  });

  it("an untracked thread at a static breakpoint counts as waiting, not crashed", async () => {
    const graph = breakpointGraph(env.saver);
    await graph.invoke({ log: [] }, cfg("bp"));
    const state = await checkStuckState("bp", graph, { graceSeconds: 0 });
    expect(state).toMatchObject({ state: "waiting", tracked: false, next: ["b"] });
    expect((await recoverStuckSession("bp", graph, { graceSeconds: 0 })).status).toBe("waiting");
    expect((await graph.getState(cfg("bp"))).next).toEqual(["b"]);
  });

  it("an untracked thread whose node failed is classified from its checkpoint and recovered", async () => {
    const b: StepBehavior = { runs: {}, failAt: "step2", error: unavailable };
    const graph = stepsGraph(env.saver, b);
    await expect(graph.invoke({ log: [] }, cfg("plain"))).rejects.toThrow(/503/);
    // A node error leaves an __error__ write: failed, transient by its message.
    const failed = await checkStuckState("plain", graph);
    expect(failed).toMatchObject({
      state: "failed",
      tracked: false,
      errorKind: "transient",
      canRecover: true,
    });
    b.failAt = undefined;
    const r = await recoverStuckSession("plain", graph);
    expect(r).toMatchObject({ status: "resumed", outcome: "completed", attempts: 1 });
    expect(b.runs).toEqual({ step1: 1, step2: 2, slow: 1, step3: 1 });
    expect(await readRun(env.saver, "plain")).toMatchObject({ status: "completed", attempts: 0 });
  });

  it("a node that keeps failing goes through attempts with backoff to dead; force re-drives it", async () => {
    const b: StepBehavior = { runs: {}, failAt: "slow", error: unavailable };
    const graph = stepsGraph(env.saver, b);
    const opts = { maxAttempts: 3, backoffInitialMs: 300, jitter: 0 };
    await expect(runDurably(graph, { log: [] }, cfg("flaky"), opts)).rejects.toThrow(/503/);
    const first = await readRun(env.saver, "flaky");
    expect(first).toMatchObject({ status: "failed", errorKind: "transient", attempts: 0 });
    expect(first?.nextAttemptAt).not.toBeNull();
    const before = await env.pool.query(
      `SELECT count(*)::int AS n FROM "${schema}".checkpoints WHERE thread_id = 'flaky'`,
    );

    const results: string[] = [];
    for (let i = 0; i < 60 && results.at(-1) !== "dead"; i += 1) {
      const r = await recoverStuckSession("flaky", graph, opts);
      results.push(r.status === "resumed" ? `resumed:${r.attempts}:${r.outcome}` : r.status);
      if (r.status === "deferred") {
        expect(r.retryAt?.getTime()).toBeGreaterThan(Date.now() - 1000);
        await sleep(150);
      }
    }
    const attempts = results.filter((r) => r.startsWith("resumed"));
    expect(attempts, results.join(" ")).toEqual([
      "resumed:1:failed",
      "resumed:2:failed",
      "resumed:3:failed",
    ]);
    expect(results).toContain("deferred"); // backoff was honoured between attempts
    expect(results.at(-1)).toBe("dead");
    const dead = await checkStuckState("flaky", graph, opts);
    expect(dead).toMatchObject({ state: "dead", isStuck: true, canRecover: false });
    expect(dead.reason).toMatch(/gave up after 3 attempts.*503/);
    expect((await recoverStuckSession("flaky", graph, opts)).status).toBe("dead");
    expect(b.runs.slow).toBe(4);
    // Dead never deletes: every checkpoint is still there.
    const after = await env.pool.query(
      `SELECT count(*)::int AS n FROM "${schema}".checkpoints WHERE thread_id = 'flaky'`,
    );
    expect(after.rows[0].n).toBe(before.rows[0].n);

    b.failAt = undefined;
    const forced = await recoverStuckSession("flaky", graph, { ...opts, force: true });
    expect(forced).toMatchObject({ status: "resumed", outcome: "completed" });
    expect(await readRun(env.saver, "flaky")).toMatchObject({ status: "completed", attempts: 0 });
  });

  it("a permanent error goes to dead on the first recovery, with the reason", async () => {
    const b: StepBehavior = {
      runs: {},
      failAt: "step1",
      error: () => new TypeError("x is not a function"),
    };
    const graph = stepsGraph(env.saver, b);
    await expect(runDurably(graph, { log: [] }, cfg("perm"))).rejects.toThrow(TypeError);
    expect(await readRun(env.saver, "perm")).toMatchObject({
      status: "failed",
      errorKind: "permanent",
    });
    const state = await checkStuckState("perm", graph);
    expect(state).toMatchObject({ state: "failed", canRecover: false, errorKind: "permanent" });
    const r = await recoverStuckSession("perm", graph);
    expect(r.status).toBe("dead");
    expect(r.reason).toContain("x is not a function");
    expect(b.runs.step1).toBe(1);
  });

  it("attempts restart when the head checkpoint advances", async () => {
    const b: StepBehavior = { runs: {}, failAt: "step2", error: unavailable };
    const graph = stepsGraph(env.saver, b);
    const opts = { maxAttempts: 5, backoffInitialMs: 1, jitter: 0 };
    const again = async () => {
      await sleep(20); // past the 1 ms backoff
      return recoverStuckSession("progress", graph, opts);
    };
    await expect(runDurably(graph, { log: [] }, cfg("progress"), opts)).rejects.toThrow(/503/);
    expect(await again()).toMatchObject({ attempts: 1, outcome: "failed" });
    expect(await again()).toMatchObject({ attempts: 2, outcome: "failed" });
    b.failAt = "step3"; // step2 passes now: this attempt makes progress, then fails further on
    expect(await again()).toMatchObject({ attempts: 3, outcome: "failed" });
    expect(await again()).toMatchObject({ attempts: 1, outcome: "failed" });
    expect(b.runs).toMatchObject({ step1: 1, step2: 4, slow: 1, step3: 2 });
  });

  it("a run that died before its first checkpoint goes dead (nothing to resume), once", async () => {
    const graph = stepsGraph(env.saver, { runs: {} });
    await env.pool.query(
      `INSERT INTO "${schema}".agentstate_runs (thread_id, status, owner, lease_until, fence)
       VALUES ('nocp', 'running', 'gone', now() - interval '1 minute', 1)`,
    );
    const state = await checkStuckState("nocp", graph);
    expect(state).toMatchObject({ state: "crashed", canRecover: false, headCheckpointId: null });
    expect((await recoverStuckSession("nocp", graph)).status).toBe("dead");
    expect(await readRun(env.saver, "nocp")).toMatchObject({ status: "dead", owner: null });
    const sweep = await new RecoveryService(graph).sweep();
    expect(sweep.results.map((r) => r.threadId)).not.toContain("nocp");
    await expect(checkStuckState("never-ran", graph)).rejects.toMatchObject({
      code: "THREAD_NOT_FOUND",
    });
  });

  it("streamDurably streams chunks and records a caller that stops early as waiting", async () => {
    const b: StepBehavior = { runs: {} };
    const graph = stepsGraph(env.saver, b);
    const stream = await streamDurably(
      graph,
      { log: [] },
      { ...cfg("early"), streamMode: "updates" },
    );
    for await (const chunk of stream) {
      expect(Object.keys(chunk as object)).toEqual(["step1"]);
      break;
    }
    const run = await readRun(env.saver, "early");
    expect(run).toMatchObject({ status: "waiting", owner: null });
    expect(String(run?.details.reason)).toContain("stopped by the caller");
    expect((await checkStuckState("early", graph)).state).toBe("waiting");
  });
});

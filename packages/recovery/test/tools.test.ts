import { resolve } from "node:path";
import { ScriptedChatModel } from "@agentstate/test-support/models";
import type { BaseMessage } from "@langchain/core/messages";
import { AIMessage, HumanMessage } from "@langchain/core/messages";
import { END, MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import {
  checkStuckState,
  patchOrphanedToolCalls,
  RecoveryError,
  RecoveryService,
  readRun,
  recoverStuckSession,
  runDurably,
  runOnce,
  runOnceInTransaction,
} from "../src/index.js";
import { buildAgent, closeEffects, ensureEffectsTable } from "./fixtures/agent.js";
import {
  FIXTURES,
  leasesLapsed,
  postgresReachable,
  type Spawned,
  sleep,
  spawnTs,
  testSaver,
  uniqueSchema,
  waitFor,
} from "./helpers.js";

const RUN_AGENT = resolve(FIXTURES, "run-agent.ts");
const up = await postgresReachable();

describe.skipIf(!up)("tool calls in flight, receipts and orphans", () => {
  const schema = uniqueSchema("tools");
  let env: Awaited<ReturnType<typeof testSaver>>;

  const effects = async (threadId: string) => {
    const { rows } = await env.pool.query<{ tool_call_id: string; phase: string; n: number }>(
      `SELECT tool_call_id, phase, count(*)::int AS n FROM "${schema}".side_effects
       WHERE thread_id = $1 AND tool_call_id = 't1-write' GROUP BY 1, 2`,
      [threadId],
    );
    return Object.fromEntries(rows.map((r) => [r.phase, r.n]));
  };

  beforeAll(async () => {
    env = await testSaver(schema);
    await ensureEffectsTable(schema);
    // Three children crash at once, each in the middle of slow_write: not idempotent; behind a
    // receipt (killed after the effect); and a plain invoke with no ledger row.
    const lease = JSON.stringify({ leaseSeconds: 1, heartbeatMs: 300 });
    const kids: Array<[Spawned, string[], string]> = [
      [
        spawnTs(RUN_AGENT, ["durable", "review", "errpol", "rerun"], {
          AGENT_FIXTURE: JSON.stringify({ schema, hangOn: "t1-write", writeIdempotent: false }),
          RECOVERY_OPTIONS: lease,
        }),
        ["review", "errpol", "rerun"],
        "started",
      ],
      [
        spawnTs(RUN_AGENT, ["durable", "receipt"], {
          AGENT_FIXTURE: JSON.stringify({ schema, hangOn: "t1-write", receipts: true }),
          RECOVERY_OPTIONS: lease,
        }),
        ["receipt"],
        "effect",
      ],
      [
        spawnTs(RUN_AGENT, ["plain", "untracked"], {
          AGENT_FIXTURE: JSON.stringify({ schema, hangOn: "t1-write" }),
        }),
        ["untracked"],
        "started",
      ],
    ];
    for (const [kid, threads, phase] of kids) {
      for (const t of threads) {
        await waitFor(
          async () => (await effects(t))[phase] === 1,
          `${t} to reach ${phase}`,
          60_000,
        );
      }
      kid.child.kill("SIGKILL");
      await kid.exited;
    }
    await leasesLapsed(env.pool, schema);
  });
  afterAll(async () => {
    await closeEffects();
    await env.dispose();
  });

  it("a non-idempotent call in flight sends the thread to review; force answers it 'outcome unknown'", async () => {
    const agent = buildAgent({ schema, writeIdempotent: false }, env.saver);
    const state = await checkStuckState("review", agent);
    expect(state).toMatchObject({ state: "crashed", canRecover: false, needsReview: true });
    expect(state.pendingToolCalls).toEqual([
      expect.objectContaining({ id: "t1-write", name: "slow_write", idempotent: false }),
    ]);
    expect(state.reason).toContain("slow_write (t1-write)");
    const r = await recoverStuckSession("review", agent);
    expect(r.status).toBe("dead");
    expect(await readRun(env.saver, "review")).toMatchObject({ status: "dead", needsReview: true });
    expect((await checkStuckState("review", agent)).state).toBe("dead");

    const forced = await recoverStuckSession("review", agent, { force: true });
    expect(forced).toMatchObject({ status: "resumed", outcome: "completed", answeredToolCalls: 1 });
    const final = await agent.graph.getState({ configurable: { thread_id: "review" } });
    const messages = final.values.messages as BaseMessage[];
    const answer = messages.find(
      (m) => (m as { tool_call_id?: string }).tool_call_id === "t1-write",
    );
    expect(answer).toMatchObject({ status: "error" });
    expect(String(answer?.content)).toContain("outcome is unknown");
    expect(messages.at(-1)?.content).toContain("All done");
    expect(await effects("review")).toEqual({ started: 1 }); // never run a second time
  });

  it("policy 'error' answers without a human; 'rerun' runs the call again", async () => {
    const agent = buildAgent({ schema, writeIdempotent: false }, env.saver);
    const e = await recoverStuckSession("errpol", agent, { inFlightTools: "error" });
    expect(e).toMatchObject({ status: "resumed", outcome: "completed", answeredToolCalls: 1 });
    expect(await effects("errpol")).toEqual({ started: 1 });
    const r = await recoverStuckSession("rerun", agent, { inFlightTools: "rerun" });
    expect(r).toMatchObject({ status: "resumed", outcome: "completed", answeredToolCalls: 0 });
    expect(await effects("rerun")).toEqual({ started: 2, effect: 1, done: 1 });
  });

  it("a receipt keeps the side effect to once when the crash came after it", async () => {
    const agent = buildAgent({ schema, receipts: true }, env.saver);
    const r = await recoverStuckSession("receipt", agent);
    expect(r).toMatchObject({ status: "resumed", outcome: "completed" });
    expect(await effects("receipt")).toEqual({ started: 2, effect: 1, done: 1 });
    const { rows } = await env.pool.query(
      `SELECT status, result FROM "${schema}".agentstate_receipts WHERE thread_id = 'receipt'`,
    );
    expect(rows).toEqual([{ status: "done", result: { value: "wrote k1=v1" } }]);
  });

  it("an untracked crash (plain invoke) is running within the grace period, crashed after it", async () => {
    const agent = buildAgent({ schema }, env.saver);
    expect(await checkStuckState("untracked", agent)).toMatchObject({
      state: "running",
      tracked: false,
    });
    const crashed = await checkStuckState("untracked", agent, { graceSeconds: 0 });
    expect(crashed).toMatchObject({ state: "crashed", tracked: false, canRecover: true });
    expect(crashed.reason).toContain("no ledger row");
    const r = await recoverStuckSession("untracked", agent, { graceSeconds: 0 });
    expect(r).toMatchObject({ status: "resumed", outcome: "completed" });
    expect(await readRun(env.saver, "untracked")).toMatchObject({ status: "completed" });
    expect(await effects("untracked")).toEqual({ started: 2, effect: 1, done: 1 });
  });

  it("a live run inside a slow tool holds its lease: running, not stuck, not swept", async () => {
    const agent = buildAgent({ schema, hangOn: "t1-write", hangMs: 2500 }, env.saver);
    const opts = { leaseSeconds: 1, heartbeatMs: 200 };
    const run = runDurably(
      agent,
      { messages: [new HumanMessage("go")] },
      { configurable: { thread_id: "live-tool" } },
      opts,
    );
    await waitFor(async () => (await effects("live-tool")).started === 1, "the slow tool to start");
    await sleep(1300); // past the lease length: only the heartbeat keeps it
    const state = await checkStuckState("live-tool", agent, { ...opts, graceSeconds: 0 });
    expect(state).toMatchObject({ state: "running", isStuck: false, tracked: true });
    const sweep = await new RecoveryService(agent, { ...opts, graceSeconds: 0 }).sweep();
    expect(sweep.results.map((r) => r.threadId)).not.toContain("live-tool");
    await run;
    expect(await effects("live-tool")).toEqual({ started: 1, effect: 1, done: 1 });
    expect((await checkStuckState("live-tool", agent)).state).toBe("completed");
  });

  it("runOnce replays a stored result, refuses an unknown outcome, and forgets a failed effect", async () => {
    let runs = 0;
    const key = { threadId: "unit", toolCallId: "c1" };
    const effect = async () => {
      runs += 1;
      return { charged: 42 };
    };
    expect(await runOnce(env.saver, key, effect)).toEqual({ charged: 42 });
    expect(await runOnce(env.saver, key, effect)).toEqual({ charged: 42 });
    expect(runs).toBe(1);

    // A crash mid-effect leaves a "started" receipt: the outcome is unknown.
    await env.pool.query(
      `INSERT INTO "${schema}".agentstate_receipts (thread_id, tool_call_id) VALUES ('unit', 'c2')`,
    );
    const c2 = { threadId: "unit", toolCallId: "c2" };
    await expect(runOnce(env.saver, c2, effect)).rejects.toMatchObject({ code: "OUTCOME_UNKNOWN" });
    await expect(runOnce(env.saver, c2, effect)).rejects.toBeInstanceOf(RecoveryError);
    let retried: boolean | undefined;
    await runOnce(
      env.saver,
      c2,
      async (ctx) => {
        retried = ctx.retryOfUnknown;
        expect(ctx.idempotencyKey).toBe("unit:c2");
        return 1;
      },
      { onUnknown: "rerun" },
    );
    expect(retried).toBe(true);

    const c3 = { threadId: "unit", toolCallId: "c3" };
    await expect(
      runOnce(env.saver, c3, async () => Promise.reject(new Error("declined"))),
    ).rejects.toThrow("declined");
    expect(await runOnce(env.saver, c3, async () => "second try")).toBe("second try");
  });

  it("runOnceInTransaction: concurrent attempts commit the effect exactly once", async () => {
    await env.pool.query(`CREATE TABLE "${schema}".ledger_entries (id serial, amount int)`);
    const key = { threadId: "tx", toolCallId: "pay-1" };
    const attempt = () =>
      runOnceInTransaction(env.saver, key, async (tx) => {
        const { rows } = await tx.query<{ id: number }>(
          `INSERT INTO "${schema}".ledger_entries (amount) VALUES (100) RETURNING id`,
        );
        await sleep(50);
        return rows[0]?.id;
      });
    const ids = await Promise.all([attempt(), attempt(), attempt(), attempt()]);
    expect(new Set(ids).size).toBe(1);
    const { rows } = await env.pool.query(
      `SELECT count(*)::int AS n FROM "${schema}".ledger_entries`,
    );
    expect(rows[0].n).toBe(1);
  });

  it("orphaned tool calls are reported and patched so the next model call is valid", async () => {
    const model = new ScriptedChatModel((messages) => {
      const turn = messages.filter((m) => AIMessage.isInstance(m)).length;
      return turn === 0
        ? new AIMessage({ content: "", tool_calls: [{ id: "o1", name: "lookup", args: {} }] })
        : new AIMessage("fine");
    }, true);
    // A graph that ends after the model asked for a tool: nothing will ever answer o1.
    const graph = new StateGraph(MessagesAnnotation)
      .addNode("model", async (s: typeof MessagesAnnotation.State) => ({
        messages: [await model.invoke(s.messages)],
      }))
      .addEdge(START, "model")
      .addEdge("model", END)
      .compile({ checkpointer: env.saver });
    const cfg = { configurable: { thread_id: "orphan" } };
    await graph.invoke({ messages: [new HumanMessage("hi")] }, cfg);
    const state = await checkStuckState("orphan", graph);
    expect(state).toMatchObject({ state: "completed", pendingToolCalls: [] });
    expect(state.orphanedToolCalls.map((c) => c.id)).toEqual(["o1"]);
    await expect(graph.invoke({ messages: [new HumanMessage("again")] }, cfg)).rejects.toThrow(
      /without a response: o1/,
    );
    expect(await patchOrphanedToolCalls("orphan", graph)).toBe(1);
    expect((await checkStuckState("orphan", graph)).orphanedToolCalls).toEqual([]);
    const out = await graph.invoke({ messages: [new HumanMessage("again")] }, cfg);
    expect(out.messages.at(-1)?.content).toBe("fine");
  });
});

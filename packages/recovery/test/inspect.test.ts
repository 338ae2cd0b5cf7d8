// inspect(), history() and diffCheckpoints() on real runs (the fixture agent, interrupt and
// failing graphs, a SIGKILLed durable run), with and without the graph; the CLI forms; read-only.
import { resolve } from "node:path";
import { HumanMessage } from "@langchain/core/messages";
import { Command } from "@langchain/langgraph";
import pg from "pg";
import {
  diffCheckpoints,
  history,
  inspect,
  recoverStuckSession,
  runDurably,
} from "../src/index.js";
import { buildAgent, closeEffects, ensureEffectsTable } from "./fixtures/agent.js";
import { interruptGraph, stepsGraph } from "./fixtures/graphs.js";
import {
  DATABASE_URL,
  FIXTURES,
  postgresReachable,
  runCli,
  spawnTs,
  testSaver,
  uniqueSchema,
  waitFor,
} from "./helpers.js";

const up = await postgresReachable();
const go = () => ({ messages: [new HumanMessage("go")] });
const cfg = (thread_id: string) => ({ configurable: { thread_id } });

describe.skipIf(!up)("inspect, history and diff", () => {
  const schema = uniqueSchema("inspect");
  let env: Awaited<ReturnType<typeof testSaver>>;
  let agent: ReturnType<typeof buildAgent>;
  const cli = (...args: string[]) =>
    runCli(["--schema", schema, ...args], { AGENT_FIXTURE: JSON.stringify({ schema }) });
  const withGraph = ["--graph", `${FIXTURES}/agent.ts:graph`];

  beforeAll(async () => {
    env = await testSaver(schema);
    await ensureEffectsTable(schema);
    agent = buildAgent({ schema }, env.saver);
    await runDurably(agent, go(), cfg("done"));
  });
  afterAll(async () => {
    await closeEffects();
    await env.dispose();
  });

  it("a finished run: one row per step with its node, writes, tool calls and results, with or without the graph", async () => {
    const bare = await inspect("done", env.saver);
    expect(bare).toMatchObject({
      threadId: "done",
      state: "completed",
      exact: false,
      inFlight: null,
    });
    expect(bare.steps.map((s) => [s.step, s.source, s.nodes])).toEqual([
      [-1, "input", ["(input)"]],
      [0, "loop", ["__start__"]],
      [1, "loop", ["model_request"]],
      [2, "loop", ["tools"]],
      [3, "loop", ["model_request"]],
      [4, "loop", ["tools", "tools"]],
      [5, "loop", ["model_request"]],
    ]);
    const asked = bare.steps.find((s) => s.step === 3)!;
    expect(asked.writes).toEqual([
      expect.objectContaining({ node: "model_request", channel: "messages" }),
    ]);
    expect(asked.writes[0]!.preview).toContain('slow_write({"key":"k1","value":"v1"})');
    expect(asked.toolCalls).toEqual([
      expect.objectContaining({
        id: "t1-lookup",
        name: "lookup",
        args: '{"q":"beta"}',
        answeredAtStep: 4,
        status: "done",
        result: "result for beta",
      }),
      expect.objectContaining({
        id: "t1-write",
        name: "slow_write",
        status: "done",
        result: "wrote k1=v1",
      }),
    ]);
    const answered = bare.steps.find((s) => s.step === 4)!;
    expect(answered.toolResults.map((c) => c.id)).toEqual(["t1-lookup", "t1-write"]);
    expect(bare.steps.every((s) => s.time && !Number.isNaN(Date.parse(s.time)))).toBe(true);
    expect(bare.ledger).toMatchObject({ status: "completed", fence: 1, attempts: 0, owner: null });

    const exact = await inspect("done", agent);
    expect(exact).toMatchObject({ state: "completed", exact: true });
    expect(exact.steps.map((s) => s.nodes)).toEqual(bare.steps.map((s) => s.nodes));
  });

  it("an interrupt shows its value while waiting, and what it was resumed with afterwards", async () => {
    const graph = interruptGraph(env.saver);
    await graph.invoke({ log: [] }, cfg("ask"));
    const waiting = await inspect("ask", env.saver);
    expect(waiting).toMatchObject({ state: "waiting", reason: "waiting on interrupt() in ask" });
    expect(waiting.inFlight?.interrupts).toEqual([
      { node: "ask", value: '{"question":"approve?"}', resumedWith: null },
    ]);
    await graph.invoke(new Command({ resume: "yes" }), cfg("ask"));
    const done = await inspect("ask", graph);
    expect(done.state).toBe("completed");
    expect(done.steps.at(-1)).toMatchObject({
      nodes: ["ask"],
      interrupts: [{ node: "ask", value: '{"question":"approve?"}', resumedWith: '"yes"' }],
    });
  });

  it("a node error is shown in the step that failed", async () => {
    const graph = stepsGraph(env.saver, { failAt: "step2", runs: {} });
    await expect(graph.invoke({ log: [] }, cfg("broken"))).rejects.toThrow("boom");
    const r = await inspect("broken", env.saver);
    expect(r).toMatchObject({ state: "failed", isStuck: true });
    expect(r.inFlight).toMatchObject({
      nodes: ["step2"],
      errors: [{ node: "step2", error: "boom" }],
    });
  });

  it("a SIGKILLed run: the pending call, the finished sibling and the receipt; after recovery the timeline shows it", async () => {
    const child = spawnTs(resolve(FIXTURES, "run-agent.ts"), ["durable", "killed"], {
      AGENT_FIXTURE: JSON.stringify({ schema, hangOn: "t1-write", receipts: true }),
      RECOVERY_OPTIONS: JSON.stringify({ leaseSeconds: 1, heartbeatMs: 300 }),
    });
    await waitFor(async () => {
      const { rows } = await env.pool.query(
        `SELECT 1 FROM "${schema}".agentstate_receipts WHERE thread_id = 'killed' AND status = 'done'`,
      );
      return rows.length === 1;
    }, "the write's receipt");
    // and the sibling lookup's result stored, so the kill lands with it finished
    await waitFor(
      async () =>
        (await inspect("killed", env.saver)).toolCalls.some(
          (c) => c.id === "t1-lookup" && c.status === "finished",
        ),
      "the sibling lookup's writes",
    );
    child.child.kill("SIGKILL");
    await child.exited;
    const crashed = await waitFor(async () => {
      const r = await inspect("killed", agent);
      return r.state === "crashed" ? r : undefined;
    }, "the lease to lapse");
    expect(crashed.inFlight?.nodes).toEqual(["tools"]);
    const calls = Object.fromEntries(crashed.toolCalls.map((c) => [c.id, [c.status, c.receipt]]));
    expect(calls).toMatchObject({
      "t1-write": ["pending", "done"],
      "t1-lookup": ["finished", null],
      "t0-lookup": ["done", null],
    });
    expect(crashed.inFlight?.events.join(" ")).toContain("crashed: lease expired");
    expect(crashed.ledger).toMatchObject({ status: "running", leaseLive: false, fence: 1 });

    const recovered = await recoverStuckSession("killed", agent);
    expect(recovered).toMatchObject({ status: "resumed", outcome: "completed" });
    const after = await inspect("killed", env.saver);
    expect(after.state).toBe("completed");
    expect(after.ledger).toMatchObject({ status: "completed", fence: 2 });
    const resumed = after.steps.find((s) => s.events.length > 0)!;
    expect(resumed.events[0]).toMatch(/^a recovery resumed the run here, from step 3/);
    expect(resumed).toMatchObject({ step: 4, nodes: ["tools", "tools"] });
    expect(after.toolCalls.find((c) => c.id === "t1-write")).toMatchObject({
      status: "done",
      receipt: "done",
    });
  });

  it("history lists checkpoints newest first; --diff says what changed, messages as added", async () => {
    const h = await history("done", env.saver);
    expect(h.checkpoints.map((c) => c.step)).toEqual([5, 4, 3, 2, 1, 0, -1]);
    expect(h.checkpoints[0]).toMatchObject({
      source: "loop",
      nodes: ["model_request"],
      onBranch: true,
    });
    expect(h.checkpoints[0]!.parentId).toBe(h.checkpoints[1]!.checkpointId);
    expect((await history("done", env.saver, { limit: 2 })).truncated).toBe(true);

    const d = await diffCheckpoints("done", "3", h.checkpoints[0]!.checkpointId, env.saver);
    expect(d.from.step).toBe(3);
    expect(d.channels).toEqual([
      expect.objectContaining({
        channel: "messages",
        change: "changed",
        messages: {
          added: [
            "tool t1-lookup: result for beta",
            "tool t1-write: wrote k1=v1",
            'ai "All done: alpha and beta looked up, k1 written."',
          ],
          removed: [],
          changed: [],
        },
      }),
    ]);
    await expect(diffCheckpoints("done", "1", "99", env.saver)).rejects.toMatchObject({
      code: "CHECKPOINT_NOT_FOUND",
    });
    for (const call of [
      () => inspect("nope", env.saver),
      () => history("nope", env.saver),
      () => diffCheckpoints("nope", "1", "2", env.saver),
    ]) {
      await expect(call()).rejects.toMatchObject({ code: "THREAD_NOT_FOUND" });
    }
  });

  it("hostile thread ids are plain strings, and reading writes nothing", async () => {
    const ids = [
      `<img src=x onerror=alert(1)>`,
      `it's "quoted"; DROP TABLE x; --`,
      "🧵 ünïcode/slash",
    ];
    for (const id of ids) await agent.invoke(go(), cfg(id));
    const counts = async () =>
      (
        await env.pool.query(`SELECT (SELECT count(*) FROM "${schema}".agentstate_runs)::int AS runs,
        (SELECT count(*) FROM "${schema}".checkpoints)::int AS cps,
        (SELECT count(*) FROM "${schema}".agentstate_receipts)::int AS receipts`)
      ).rows[0];
    const before = await counts();
    for (const id of ids) {
      const r = await inspect(id, agent);
      expect(r).toMatchObject({ threadId: id, state: "completed", ledger: null });
      expect((await history(id, env.saver)).threadId).toBe(id);
    }
    const cli1 = await cli("inspect", ids[1]!, "--json");
    expect(cli1.code, cli1.output).toBe(0);
    expect(JSON.parse(cli1.stdout).threadId).toBe(ids[1]);
    expect(await counts()).toEqual(before);
  });

  it("the CLI: inspect (text and --json), history, --diff; THREAD_NOT_FOUND exits 1; bad --diff exits 64", async () => {
    const text = await cli(...withGraph, "inspect", "killed");
    expect(text.code, text.output).toBe(0);
    expect(text.stdout).toMatch(/^thread\s+killed$/m);
    expect(text.stdout).toMatch(/STEP\s+TIME\s+NODE\(S\)\s+WHAT HAPPENED/);
    expect(text.stdout).toContain(
      'call slow_write t1-write {"key":"k1","value":"v1"} → "wrote k1=v1" [receipt done]',
    );
    expect(text.stdout).toContain("» a recovery resumed the run here, from step 3");
    const json = await cli(...withGraph, "inspect", "killed", "--json");
    expect(JSON.parse(json.stdout)).toMatchObject({
      threadId: "killed",
      state: "completed",
      exact: true,
    });

    const h = await cli("history", "done");
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/^CHECKPOINT\s+STEP\s+SOURCE\s+TIME\s+PARENT\s+NODE\(S\)$/m);
    expect(h.stdout).toMatch(/\s4\s+loop\s.*tools ×2$/m);
    const diff = await cli("history", "done", "--diff", "3", "5");
    expect(diff.stdout).toContain("messages: changed\n  + tool t1-lookup: result for beta");

    const missing = await cli("inspect", "nope", "--json");
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout).error).toMatchObject({ code: "THREAD_NOT_FOUND" });
    expect((await cli("history", "nope")).code).toBe(1);
    expect((await cli("history", "done", "--diff", "3")).code).toBe(64);
  });

  it("on a schema that is not set up, inspect refuses (NOT_SET_UP) and creates nothing", async () => {
    const fresh = uniqueSchema("inspect_none");
    const r = await runCli(["--schema", fresh, "inspect", "t", "--json"]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error.code).toBe("NOT_SET_UP");
    const c = new pg.Client({ connectionString: DATABASE_URL });
    await c.connect();
    const { rowCount } = await c.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [fresh]);
    await c.end();
    expect(rowCount).toBe(0);
  });
});

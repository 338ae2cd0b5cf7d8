// Regressions from the kill campaign (issue 14): a process SIGKILLed (or SIGSTOPped) at an exact
// point — after a model turn's writes but before its checkpoint, before the first checkpoint, in a
// run with a raised recursion limit — is recovered through the real CLI as an uncrashed run ends.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { BaseMessage } from "@langchain/core/messages";
import { HumanMessage } from "@langchain/core/messages";
import { checkStuckState, readRun } from "../src/index.js";
import { buildAgent, closeEffects, ensureEffectsTable, normalize } from "./fixtures/agent.js";
import { buildLoop, LOOP_STEPS } from "./fixtures/loop.js";
import {
  effectCounts,
  FIXTURES,
  postgresReachable,
  runCli,
  type Spawned,
  spawnTs,
  testSaver,
  uniqueSchema,
  waitFor,
} from "./helpers.js";

const RUN_AGENT = resolve(FIXTURES, "run-agent.ts");
const up = await postgresReachable();

describe.skipIf(!up)("kills at exact points", () => {
  const schema = uniqueSchema("points");
  let env: Awaited<ReturnType<typeof testSaver>>;
  const lease = JSON.stringify({ leaseSeconds: 1, heartbeatMs: 300 });

  beforeAll(async () => {
    env = await testSaver(schema);
    await ensureEffectsTable(schema);
  });
  afterAll(async () => {
    await closeEffects();
    await env.dispose();
  });

  const effects = (threadId: string) => effectCounts(env.pool, schema, threadId);
  const blocked = (child: Spawned) =>
    waitFor(
      async () => child.stdout().includes('"blocked":"put"'),
      "the child to block a checkpoint",
    );
  const cli = (graph: string, ...args: string[]) =>
    runCli(["--schema", schema, "--graph", `${FIXTURES}/${graph}`, "--json", ...args], {
      AGENT_FIXTURE: JSON.stringify({ schema }),
    });
  const crashed = (threadId: string, graph: Parameters<typeof checkStuckState>[1]) =>
    waitFor(async () => {
      const s = await checkStuckState(threadId, graph);
      return s.state !== "running" ? s : undefined;
    }, "the lease to expire");
  const reference = async (agent: ReturnType<typeof buildAgent>, threadId: string) => {
    await agent.invoke(
      { messages: [new HumanMessage("go")] },
      { configurable: { thread_id: threadId } },
    );
    const s = await agent.graph.getState({ configurable: { thread_id: threadId } });
    return normalize(s.values.messages as BaseMessage[]);
  };

  it("after a model turn's writes, before its checkpoint: the resume runs the requested tools", async () => {
    const threadId = "after-model-writes";
    const child = spawnTs(RUN_AGENT, ["durable", threadId], {
      AGENT_FIXTURE: JSON.stringify({ schema }),
      RECOVERY_OPTIONS: lease,
      BLOCK_PUT: "tool_calls",
    });
    await blocked(child);
    child.child.kill("SIGKILL");
    await child.exited;

    const agent = buildAgent({ schema }, env.saver);
    const state = await crashed(threadId, agent);
    expect(state).toMatchObject({ state: "crashed", canRecover: true });
    // The model's call was stored as a pending write; nothing started it: scheduled, not orphaned.
    expect(state.scheduledToolCalls.map((c) => c.id)).toEqual(["t0-lookup"]);
    expect(state.orphanedToolCalls).toEqual([]);
    expect(state.pendingToolCalls).toEqual([]);

    const recovered = await cli("agent.ts:graph", "recover", threadId);
    expect(recovered.code, recovered.output).toBe(0);
    expect(JSON.parse(recovered.stdout).results).toEqual([
      expect.objectContaining({
        threadId,
        status: "resumed",
        outcome: "completed",
        patchedToolCalls: 0,
        answeredToolCalls: 0,
      }),
    ]);
    const final = await agent.graph.getState({ configurable: { thread_id: threadId } });
    expect(normalize(final.values.messages as BaseMessage[])).toEqual(
      await reference(agent, "after-model-writes-ref"),
    );
    // Every call ran exactly once, none was answered with "outcome unknown".
    expect(await effects(threadId)).toEqual({
      "t0-lookup:done": 1,
      "t1-lookup:done": 1,
      "t1-write:done": 1,
      "t1-write:effect": 1,
      "t1-write:started": 1,
    });
    expect(JSON.stringify(final.values.messages)).not.toContain("did not return a result");
  });

  it("before the first checkpoint: the stored input starts the run again", async () => {
    const threadId = "before-first";
    const child = spawnTs(RUN_AGENT, ["durable", threadId], {
      AGENT_FIXTURE: JSON.stringify({ schema }),
      RECOVERY_OPTIONS: lease,
      BLOCK_PUT: "first",
    });
    await blocked(child);
    child.child.kill("SIGKILL");
    await child.exited;

    const agent = buildAgent({ schema }, env.saver);
    const state = await crashed(threadId, agent);
    expect(state).toMatchObject({ state: "crashed", canRecover: true, headCheckpointId: null });
    expect(state.reason).toContain("input is stored");

    const recovered = await cli("agent.ts:graph", "recover", threadId);
    expect(recovered.code, recovered.output).toBe(0);
    const final = await agent.graph.getState({ configurable: { thread_id: threadId } });
    expect(normalize(final.values.messages as BaseMessage[])).toEqual(
      await reference(agent, "before-first-ref"),
    );
    expect((await readRun(env.saver, threadId))?.status).toBe("completed");
  });

  it("a paused worker whose thread was declared dead is told so, not that a new owner continues", async () => {
    const threadId = "zombie-unstored";
    const release = join(mkdtempSync(join(tmpdir(), "agentstate-zombie-")), "release");
    const child = spawnTs(RUN_AGENT, ["durable", threadId], {
      AGENT_FIXTURE: JSON.stringify({ schema }),
      RECOVERY_OPTIONS: lease,
      BLOCK_PUT: "first",
      RELEASE_FILE: release,
      INPUT_PAD: String(300 * 1024), // over the stored-input limit
    });
    await blocked(child);
    child.child.kill("SIGSTOP");

    const agent = buildAgent({ schema }, env.saver);
    const state = await crashed(threadId, agent);
    expect(state).toMatchObject({ state: "crashed", canRecover: false });
    expect(state.reason).toContain("input was not stored");
    const recovered = await cli("agent.ts:graph", "recover", threadId);
    expect(JSON.parse(recovered.stdout).results).toEqual([
      expect.objectContaining({ threadId, status: "dead" }),
    ]);

    writeFileSync(release, "");
    child.child.kill("SIGCONT");
    await child.exited;
    const line = JSON.parse(child.stdout().trim().split("\n").at(-1) ?? "{}");
    expect(line).toMatchObject({ threadId, ok: false, code: "FENCED" });
    expect(line.message).toContain("declared dead");
    expect(line.message).not.toContain("new owner continues");
    // Its write was refused: still no checkpoint.
    expect((await checkStuckState(threadId, agent)).headCheckpointId).toBeNull();
  });

  it("a resume keeps the run's recursion limit and resumable configurable keys", async () => {
    const threadId = "loop-config";
    const child = spawnTs(resolve(FIXTURES, "run-loop.ts"), [schema, threadId]);
    await blocked(child);
    child.child.kill("SIGKILL");
    await child.exited;

    const loop = buildLoop(env.saver);
    await crashed(threadId, loop);
    const run = await readRun(env.saver, threadId);
    expect(run?.details.config).toEqual({
      recursionLimit: 100,
      durability: "sync",
      configurable: { tenant: "acme" },
    });
    const recovered = await cli("loop.ts:graph", "recover", threadId);
    expect(recovered.code, recovered.output).toBe(0);
    expect(JSON.parse(recovered.stdout).results).toEqual([
      expect.objectContaining({ threadId, status: "resumed", outcome: "completed" }),
    ]);
    const final = await loop.getState({ configurable: { thread_id: threadId } });
    expect(final.values.count).toBe(LOOP_STEPS);
    expect(new Set(final.values.seen)).toEqual(new Set(["acme"]));
  });
});

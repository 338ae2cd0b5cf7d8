import { resolve } from "node:path";
import type { BaseMessage } from "@langchain/core/messages";
import { HumanMessage } from "@langchain/core/messages";
import { checkStuckState, readRun, recoverStuckSession } from "../src/index.js";
import { buildAgent, closeEffects, ensureEffectsTable, normalize } from "./fixtures/agent.js";
import {
  effectCounts,
  FIXTURES,
  postgresReachable,
  runCli,
  spawnTs,
  testSaver,
  uniqueSchema,
  waitFor,
} from "./helpers.js";

const RUN_AGENT = resolve(FIXTURES, "run-agent.ts");
const up = await postgresReachable();

describe.skipIf(!up)("a run SIGKILLed in the middle of a tool", () => {
  const schema = uniqueSchema("crash");
  let env: Awaited<ReturnType<typeof testSaver>>;

  beforeAll(async () => {
    env = await testSaver(schema);
    await ensureEffectsTable(schema);
  });
  afterAll(async () => {
    await closeEffects();
    await env.dispose();
  });

  const effects = (threadId: string) => effectCounts(env.pool, schema, threadId);

  it("is seen as running while its lease lasts, then crashed; recovery finishes it once", async () => {
    const threadId = "crash-api";
    const child = spawnTs(RUN_AGENT, ["durable", threadId], {
      AGENT_FIXTURE: JSON.stringify({ schema, hangOn: "t1-write" }),
      RECOVERY_OPTIONS: JSON.stringify({ leaseSeconds: 3, heartbeatMs: 500 }),
    });
    await waitFor(
      async () => (await effects(threadId))["t1-write:started"] === 1,
      "the slow tool to start in the child",
    );
    child.child.kill("SIGKILL");
    await child.exited;

    const agent = buildAgent({ schema }, env.saver);
    const live = await checkStuckState(threadId, agent);
    expect(live.state).toBe("running");
    expect(live.isStuck).toBe(false);

    const crashed = await waitFor(async () => {
      const s = await checkStuckState(threadId, agent);
      return s.state === "crashed" ? s : undefined;
    }, "the lease to expire");
    expect(crashed).toMatchObject({ isStuck: true, canRecover: true, tracked: true, attempts: 0 });
    expect(crashed.next).toEqual(["tools"]);
    expect(crashed.pendingToolCalls.map((c) => [c.id, c.idempotent])).toEqual([["t1-write", true]]);
    expect(crashed.orphanedToolCalls).toEqual([]);
    expect(crashed.lastNode).toBe("model_request");

    const result = await recoverStuckSession(threadId, agent);
    expect(result).toMatchObject({ status: "resumed", outcome: "completed", attempts: 1 });

    // The sibling lookup that finished before the kill is not run again; the killed write runs once more.
    expect(await effects(threadId)).toEqual({
      "t0-lookup:done": 1,
      "t1-lookup:done": 1,
      "t1-write:done": 1,
      "t1-write:effect": 1,
      "t1-write:started": 2,
    });

    const reference = "crash-reference";
    await agent.invoke(
      { messages: [new HumanMessage("go")] },
      { configurable: { thread_id: reference } },
    );
    const final = await agent.graph.getState({ configurable: { thread_id: threadId } });
    const expected = await agent.graph.getState({ configurable: { thread_id: reference } });
    expect(normalize(final.values.messages as BaseMessage[])).toEqual(
      normalize(expected.values.messages as BaseMessage[]),
    );
    expect(final.next).toEqual([]);

    const run = await readRun(env.saver, threadId);
    expect(run).toMatchObject({ status: "completed", attempts: 0, owner: null, leaseUntil: null });
    expect(run?.headCheckpointId).toBe(final.config.configurable?.checkpoint_id);
    expect((await recoverStuckSession(threadId, agent)).status).toBe("not_stuck");
  });

  it("the CLI detects it (exit 2), recovers it (exit 0), and then has nothing to do", async () => {
    const threadId = "crash-cli";
    const fixture = JSON.stringify({ schema, hangOn: "t1-write" });
    const child = spawnTs(RUN_AGENT, ["durable", threadId], {
      AGENT_FIXTURE: fixture,
      RECOVERY_OPTIONS: JSON.stringify({ leaseSeconds: 1, heartbeatMs: 300 }),
    });
    await waitFor(
      async () => (await effects(threadId))["t1-write:started"] === 1,
      "the slow tool to start in the child",
    );
    child.child.kill("SIGKILL");
    await child.exited;
    const agent = buildAgent({ schema }, env.saver);
    await waitFor(
      async () => (await checkStuckState(threadId, agent)).state === "crashed",
      "the 1 s lease to lapse",
    );

    const cli = (...args: string[]) =>
      runCli(["--schema", schema, "--graph", `${FIXTURES}/agent.ts:graph`, "--json", ...args], {
        AGENT_FIXTURE: JSON.stringify({ schema }),
      });
    const stuck = await cli("stuck");
    expect(stuck.code, stuck.output).toBe(2);
    const found = JSON.parse(stuck.stdout).threads.find(
      (t: { threadId: string }) => t.threadId === threadId,
    );
    expect(found).toMatchObject({ state: "crashed", canRecover: true, next: ["tools"] });
    expect(found.pendingToolCalls.map((c: { id: string }) => c.id)).toEqual(["t1-write"]);

    const dry = await cli("recover", "--all", "--dry-run");
    expect(dry.code, dry.output).toBe(2);
    expect(JSON.parse(dry.stdout).results).toEqual([
      expect.objectContaining({ threadId, status: "would_resume" }),
    ]);
    expect((await readRun(env.saver, threadId))?.status).toBe("running"); // dry run changed nothing

    const recovered = await cli("recover", threadId, "--log-json");
    expect(recovered.code, recovered.output).toBe(0);
    // the structured log line: which thread, where it stood, the attempt and the outcome
    const logged = recovered.output
      .split("\n")
      .filter((l) => l.startsWith('{"event":"recovery"'))
      .map((l) => JSON.parse(l));
    expect(logged).toEqual([
      expect.objectContaining({
        threadId,
        state: "crashed",
        next: ["tools"],
        status: "resumed",
        outcome: "completed",
        attempt: 1,
        node: "model_request",
        pendingToolCalls: ["slow_write:t1-write"],
      }),
    ]);
    expect(logged[0].durationMs).toBeGreaterThan(0);
    expect(JSON.parse(recovered.stdout).results).toEqual([
      expect.objectContaining({ threadId, status: "resumed", outcome: "completed" }),
    ]);
    expect(await effects(threadId)).toEqual({
      "t0-lookup:done": 1,
      "t1-lookup:done": 1,
      "t1-write:done": 1,
      "t1-write:effect": 1,
      "t1-write:started": 2,
    });
    const again = await cli("recover", "--all");
    expect(again.code, again.output).toBe(0);
    expect((await cli("stuck")).code).toBe(0);
  }, 180_000); // four CLI processes and a killed run: 40 s on an idle machine, over 60 s under CI load
});

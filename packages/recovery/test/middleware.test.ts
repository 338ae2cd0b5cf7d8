import { ScriptedChatModel } from "@agentstate/test-support/models";
import { AIMessage, HumanMessage } from "@langchain/core/messages";
import { createAgent } from "langchain";
import { createErrorRecoveryMiddleware, readRun, withRecovery } from "../src/index.js";
import { type StepBehavior, stepsGraph } from "./fixtures/graphs.js";
import { postgresReachable, testSaver, uniqueSchema } from "./helpers.js";

const up = await postgresReachable();
const cfg = (thread_id: string) => ({ configurable: { thread_id } });

/** The error a dropped socket gives (pg, fetch, undici all carry ECONNRESET). */
function connectionReset(): Error {
  return Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
}

describe.skipIf(!up)("withRecovery and the error-recovery middleware", () => {
  const schema = uniqueSchema("mw");
  let env: Awaited<ReturnType<typeof testSaver>>;
  beforeAll(async () => {
    env = await testSaver(schema);
  });
  afterAll(async () => {
    await env.dispose();
  });

  it("a connection drop mid-stream is resumed from the checkpoint; the caller's loop just continues", async () => {
    const b: StepBehavior = {
      runs: {},
      failAt: "slow",
      error: () => {
        b.failAt = undefined; // fails once
        return connectionReset();
      },
    };
    const retries: number[] = [];
    const graph = withRecovery(stepsGraph(env.saver, b), {
      backoffInitialMs: 10,
      onRetry: (r) => retries.push(r.attempt),
    });
    const seen: string[] = [];
    for await (const chunk of await graph.stream(
      { log: [] },
      { ...cfg("drop"), streamMode: "updates" },
    )) {
      seen.push(...Object.keys(chunk as object));
    }
    expect(seen).toEqual(["step1", "step2", "slow", "step3"]);
    expect(retries).toEqual([1]);
    // Resumed, not restarted: steps before the failure ran once.
    expect(b.runs).toEqual({ step1: 1, step2: 1, slow: 2, step3: 1 });
  });

  it("permanent errors surface unchanged, without retries", async () => {
    const boom = new TypeError("bad input");
    const b: StepBehavior = { runs: {}, failAt: "step2", error: () => boom };
    const retries: unknown[] = [];
    const graph = withRecovery(stepsGraph(env.saver, b), { onRetry: (r) => retries.push(r) });
    await expect(graph.invoke({ log: [] }, cfg("perm"))).rejects.toBe(boom);
    expect(retries).toEqual([]);
    expect(b.runs.step2).toBe(1);
  });

  it("gives up after maxRetries and rethrows the last transient error", async () => {
    const b: StepBehavior = { runs: {}, failAt: "step1", error: connectionReset };
    const graph = withRecovery(stepsGraph(env.saver, b), { maxRetries: 2, backoffInitialMs: 5 });
    await expect(graph.invoke({ log: [] }, cfg("giveup"))).rejects.toThrow("ECONNRESET");
    expect(b.runs.step1).toBe(3);
  });

  it("durable: each attempt runs under a lease and the ledger ends completed", async () => {
    const b: StepBehavior = {
      runs: {},
      failAt: "step2",
      error: () => {
        b.failAt = undefined;
        return connectionReset();
      },
    };
    const graph = withRecovery(stepsGraph(env.saver, b), { durable: true, backoffInitialMs: 5 });
    const out = (await graph.invoke({ log: [] }, cfg("durable-mw"))) as { log: string[] };
    expect(out.log).toEqual(["step1", "step2", "slow", "step3"]);
    expect(await readRun(env.saver, "durable-mw")).toMatchObject({ status: "completed" });
  });

  it("layers: langchain's model retry handles a blip in-node; what escapes it is resumed by the stream", async () => {
    let failures = 3;
    const model = new ScriptedChatModel(() => {
      if (failures > 0) {
        failures -= 1;
        throw Object.assign(new Error("503 Service Unavailable"), { status: 503 });
      }
      return new AIMessage("answer");
    });
    const retries: number[] = [];
    const agent = withRecovery(
      createAgent({
        model,
        tools: [],
        checkpointer: env.saver,
        middleware: await createErrorRecoveryMiddleware({ modelRetries: 1, initialDelayMs: 5 }),
      }),
      { backoffInitialMs: 5, onRetry: (r) => retries.push(r.attempt) },
    );
    const out = (await agent.invoke({ messages: [new HumanMessage("q")] }, cfg("layers"))) as {
      messages: Array<{ content: unknown }>;
    };
    expect(out.messages.at(-1)?.content).toBe("answer");
    // In-node: 2 calls per model step (1 retry). Failures 1-2 exhaust it, the stream layer
    // resumes once, failure 3 is retried in-node, the 4th call answers.
    expect(model.calls).toBe(4);
    expect(retries).toEqual([1]);
  });
});

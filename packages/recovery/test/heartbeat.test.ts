// Heartbeats for long tools. Scaled down for CI: a 20 s tool under a 3 s lease with a 2 s stall
// window stands for a 10-minute tool under the default 30 s lease and 300 s stall window (the
// same ratios of tool time to lease, and of heartbeat interval to stall window).
import type { RecoverResult, RecoveryService as Service, StuckState } from "../src/index.js";
import { checkStuckState, RecoveryService, readRun, runDurably } from "../src/index.js";
import { deployAgent, effectsOf, jsonLines, startApp } from "./deploy-helpers.js";
import { closeEffects, ensureEffectsTable } from "./fixtures/agent.js";
import { closeDeployFixture, type DeployFixture } from "./fixtures/deploy-agent.js";
import { postgresReachable, testSaver, uniqueSchema, waitFor } from "./helpers.js";

const up = await postgresReachable();
const LEASE = { leaseSeconds: 3, heartbeatMs: 1000, stallSeconds: 2 };

describe.skipIf(!up)("heartbeats and stalls", () => {
  const schema = uniqueSchema("beat");
  let env: Awaited<ReturnType<typeof testSaver>>;
  let service: Service | undefined;
  const results: RecoverResult[] = [];
  beforeAll(async () => {
    env = await testSaver(schema, 10);
    await ensureEffectsTable(schema);
  });
  afterEach(async () => {
    await service?.stop();
    service = undefined;
  });
  afterAll(async () => {
    await closeEffects();
    await closeDeployFixture();
    await env.dispose();
  });

  /** An in-process worker over the fixture, as app code would run one. */
  async function worker(fx: DeployFixture, exportName: "graph" | "timedGraph" = "graph") {
    const agent = await deployAgent(fx, exportName);
    agent.checkpointer = env.saver;
    service = new RecoveryService(agent, LEASE);
    await service.start({ onResult: (r) => results.push(r) });
    return agent;
  }

  it("a 20 s tool that heartbeats under a 3 s lease is never reported crashed", async () => {
    const fx: DeployFixture = { schema, turns: 1, stepMs: 20_000, beatMs: 500 };
    const agent = await worker(fx);
    const app = startApp(fx, ["hb-long"], LEASE);
    await waitFor(
      async () => (await effectsOf(env.pool, schema, "hb-long"))["s0:started"] === 1,
      "the long step to start",
    );
    const seen: StuckState[] = [];
    await waitFor(
      async () => {
        seen.push(await checkStuckState("hb-long", agent));
        return jsonLines(app).some((l) => l.threadId === "hb-long");
      },
      "the app's run to finish",
      60_000,
      250,
    );
    await app.exited;
    expect(jsonLines(app).find((l) => l.threadId === "hb-long")).toMatchObject({ ok: true });
    // Classified ~80 times over 20 s: running every time (the final look may see it completed).
    expect(seen.length).toBeGreaterThan(20);
    expect(seen.filter((s) => s.state !== "running" && s.state !== "completed")).toEqual([]);
    expect(results.filter((r) => r.threadId === "hb-long" && r.status === "resumed")).toEqual([]);
    expect(await effectsOf(env.pool, schema, "hb-long")).toEqual({
      "s0:started": 1,
      "s0:effect": 1,
    });
  });

  it("a tool that stops heartbeating loses its thread after the lease; a worker finishes it", async () => {
    const fx: DeployFixture = {
      schema,
      turns: 1,
      stepMs: 200,
      beatMs: 300,
      hangAfterMs: 2000,
      idempotent: true,
    };
    await worker(fx);
    const app = startApp(fx, ["hb-hung"], LEASE);
    const done = await waitFor(
      async () => results.find((r) => r.threadId === "hb-hung" && r.status === "resumed"),
      "the worker to resume the hung thread",
      60_000,
    );
    expect(done.before.state).toBe("crashed");
    expect(done.outcome).toBe("completed");
    // The app's run, still stuck in its tool, learns that it lost the thread and stops.
    await waitFor(
      async () => jsonLines(app).some((l) => l.threadId === "hb-hung"),
      "the app's run to give up",
    );
    expect(jsonLines(app).find((l) => l.threadId === "hb-hung")).toMatchObject({
      ok: false,
      code: "LEASE_LOST",
    });
    expect(String(jsonLines(app).find((l) => l.threadId === "hb-hung")?.message)).toContain(
      "made no progress",
    );
    await app.exited;
    expect(await effectsOf(env.pool, schema, "hb-hung")).toEqual({
      "s0:started": 2,
      "s0:effect": 1,
    });
  });

  it("TimeoutPolicy idleTimeout: heartbeat() keeps a node alive; silence fails it as transient, then it is recovered", async () => {
    const fx: DeployFixture = { schema, stepMs: 1500, beatMs: 200, hangAfterMs: 1500 };
    const graph = await deployAgent(fx, "timedGraph");
    graph.checkpointer = env.saver;
    const config = { configurable: { thread_id: "hb-timeout" } };
    const error = await runDurably(graph, { log: [] }, config, LEASE).catch((e) => e);
    expect((error as Error).name).toBe("NodeTimeoutError");
    const failed = await checkStuckState("hb-timeout", graph);
    expect(failed).toMatchObject({ state: "failed", errorKind: "transient", canRecover: true });
    expect((await readRun(env.saver, "hb-timeout"))?.leaseLive).toBe(false);

    service = new RecoveryService(graph, LEASE);
    await service.start({ onResult: (r) => results.push(r) });
    const r = await waitFor(
      async () => results.find((x) => x.threadId === "hb-timeout" && x.status === "resumed"),
      "the worker to retry the timed-out node after its backoff",
    );
    expect(r.outcome).toBe("completed");
    const state = await graph.getState(config);
    // The second attempt heartbeated for 1.5 s, past the 1 s idle timeout, and finished.
    expect(state.values.log).toEqual(["work#2", "after"]);
  });
});

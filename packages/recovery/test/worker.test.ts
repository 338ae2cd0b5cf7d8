// `agentstate worker` as a real process: health and metrics endpoints, drained threads picked up
// through LISTEN/NOTIFY and by polling, its own drain on SIGTERM (exit 0, work handed over),
// SIGKILL recovered after the lease, and threads waiting on interrupt() never touched.
import { RunControl } from "@langchain/langgraph";
import { readRun, runDurably, streamDurably } from "../src/index.js";
import {
  approvalGraph,
  deployAgent,
  duplicatesAndForks,
  effectsOf,
  startWorker,
  workerStarted,
} from "./deploy-helpers.js";
import { closeEffects, ensureEffectsTable } from "./fixtures/agent.js";
import { closeDeployFixture, type DeployFixture } from "./fixtures/deploy-agent.js";
import { postgresReachable, testSaver, uniqueSchema, waitFor } from "./helpers.js";

const up = await postgresReachable();
type Worker = ReturnType<typeof startWorker>;

describe.skipIf(!up)("agentstate worker", () => {
  const schema = uniqueSchema("worker");
  let env: Awaited<ReturnType<typeof testSaver>>;
  const workers: Worker[] = [];
  const fx: DeployFixture = { schema, turns: 3, stepMs: 600, beatMs: 200, idempotent: true };
  beforeAll(async () => {
    env = await testSaver(schema);
    await ensureEffectsTable(schema);
  });
  afterAll(async () => {
    for (const w of workers) w.child.kill("SIGKILL");
    await closeEffects();
    await closeDeployFixture();
    await env.dispose();
  });

  const start = async (extra: string[] = []) => {
    const w = startWorker(fx, extra, ["--lease-seconds", "3"]);
    workers.push(w);
    await workerStarted(w);
    return w;
  };
  const claimedBy = (w: Worker, threadId: string) =>
    w.workerEvents("claimed").some((e) => e.threadId === threadId);
  const completed = (threadId: string) =>
    waitFor(
      async () => (await readRun(env.saver, threadId))?.status === "completed",
      `${threadId} to complete`,
      60_000,
    );

  /** A run of the fixture in this process, drained after its first step: a `drained` thread. */
  async function drainedThread(threadId: string) {
    const agent = await deployAgent(fx);
    agent.checkpointer = env.saver;
    const control = new RunControl();
    const stream = await streamDurably(
      agent,
      { messages: [{ role: "user", content: "go" }] },
      { configurable: { thread_id: threadId }, streamMode: "updates" },
      { control },
    );
    await expect(
      (async () => {
        for await (const _ of stream) control.requestDrain("test");
      })(),
    ).rejects.toMatchObject({ code: "DRAINED" });
  }

  let first: Worker;
  it("serves /healthz and /metrics and resumes a drained thread it hears of (LISTEN)", async () => {
    first = await start(["--port", "0"]);
    expect(first.workerEvents("mode")[0]).toMatchObject({ mode: "listen" });
    const port = await waitFor(
      async () => first.workerEvents("http")[0]?.port as number | undefined,
      "the HTTP port",
    );
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: "ok", mode: "listen", inFlight: 0 });

    await drainedThread("w-listen");
    await completed("w-listen");
    expect(claimedBy(first, "w-listen")).toBe(true);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toContain('agentstate_recoveries_total{outcome="completed"} 1');
    expect(metrics).toMatch(/agentstate_runs\{status="drained"\} \d/);
  });

  it("never touches a thread waiting on interrupt()", async () => {
    const graph = await approvalGraph();
    graph.checkpointer = env.saver;
    const config = { configurable: { thread_id: "w-approval" } };
    await runDurably(graph, { log: [] }, config, { graphId: "approval" });
    const before = await readRun(env.saver, "w-approval");
    expect(before?.status).toBe("waiting");
    // Another drained thread goes through the same worker; the waiting one stays as it was.
    await drainedThread("w-listen-2");
    await completed("w-listen-2");
    expect(await readRun(env.saver, "w-approval")).toMatchObject({
      status: "waiting",
      fence: before?.fence,
      headCheckpointId: before?.headCheckpointId,
    });
    expect(claimedBy(first, "w-approval")).toBe(false);
  });

  it("on SIGTERM drains its running resume, exits 0, and another worker (polling) finishes it", async () => {
    const second = await start(["--no-listen"]);
    expect(second.workerEvents("mode")[0]).toMatchObject({ mode: "poll" });
    await drainedThread("w-handoff");
    // Whichever worker claimed it, SIGTERM that one while its step runs.
    const owner = await waitFor(
      async () =>
        [first, second].find((w) => claimedBy(w, "w-handoff") && w.child.exitCode === null),
      "a worker to claim w-handoff",
    );
    const other = owner === first ? second : first;
    await waitFor(
      async () => Object.keys(await effectsOf(env.pool, schema, "w-handoff")).length > 0,
      "a step of w-handoff to start",
    );
    owner.child.kill("SIGTERM");
    expect(await owner.exited).toBe(0);
    expect(owner.workerEvents("stopped")[0]).toMatchObject({ drained: 1, abandoned: 0 });
    await completed("w-handoff");
    expect(claimedBy(other, "w-handoff")).toBe(true);
    const effects = await effectsOf(env.pool, schema, "w-handoff");
    expect(effects).toEqual({
      "s0:started": 1,
      "s0:effect": 1,
      "s1:started": 1,
      "s1:effect": 1,
      "s2:started": 1,
      "s2:effect": 1,
    });
  });

  it("after a SIGKILL, a worker resumes the thread once its lease expires", async () => {
    const alive = workers.filter((w) => w.child.exitCode === null);
    const third = await start();
    await drainedThread("w-kill");
    const victim = await waitFor(
      async () => [...alive, third].find((w) => claimedBy(w, "w-kill")),
      "a worker to claim w-kill",
    );
    await waitFor(
      async () => (await effectsOf(env.pool, schema, "w-kill"))["s0:started"] === 1,
      "a step of w-kill to start",
    );
    victim.child.kill("SIGKILL");
    await victim.exited;
    await completed("w-kill");
    const rescuer = [...alive, third].find((w) => w !== victim && claimedBy(w, "w-kill"));
    expect(rescuer).toBeDefined();
    expect(await duplicatesAndForks(env.pool, schema)).toMatchObject({ forks: 0 });
  });
});

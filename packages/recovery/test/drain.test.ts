// Graceful drain: a run stopped at a superstep boundary is `drained` (lease released, fence
// advanced, attempts not counted), reported as such, resumed at once; drainOn handles SIGTERM in
// an app process; a drain that times out leaves the run to lease expiry.
import { readGauges } from "@agentstate/checkpointer";
import { RunControl } from "@langchain/langgraph";
import {
  checkStuckState,
  isDrained,
  RecoveryService,
  readRun,
  recoverStuckSession,
  streamDurably,
} from "../src/index.js";
import {
  DEPLOY_AGENT,
  deployAgent,
  duplicatesAndForks,
  effectsOf,
  jsonLines,
  startApp,
} from "./deploy-helpers.js";
import { closeEffects, ensureEffectsTable } from "./fixtures/agent.js";
import { closeDeployFixture, type DeployFixture } from "./fixtures/deploy-agent.js";
import { postgresReachable, runCli, testSaver, uniqueSchema, waitFor } from "./helpers.js";

const up = await postgresReachable();

describe.skipIf(!up)("graceful drain", () => {
  const schema = uniqueSchema("drain");
  let env: Awaited<ReturnType<typeof testSaver>>;
  const fx: DeployFixture = { schema, turns: 3, stepMs: 50, beatMs: 0 };
  beforeAll(async () => {
    env = await testSaver(schema);
    await ensureEffectsTable(schema);
  });
  afterAll(async () => {
    await closeEffects();
    await closeDeployFixture();
    await env.dispose();
  });

  it("stops at the next boundary: DRAINED, ledger drained, resumed at once without an attempt", async () => {
    const agent = await deployAgent(fx);
    agent.checkpointer = env.saver;
    const control = new RunControl();
    const config = { configurable: { thread_id: "d-api" }, streamMode: "updates" as const };
    const stream = await streamDurably(
      agent,
      { messages: [{ role: "user", content: "go" }] },
      config,
      {
        control,
      },
    );
    let error: unknown;
    try {
      for await (const _chunk of stream) control.requestDrain("test deploy");
    } catch (e) {
      error = e;
    }
    expect(isDrained(error), String(error)).toBe(true);

    const run = await readRun(env.saver, "d-api");
    expect(run).toMatchObject({ status: "drained", owner: null, leaseLive: false, attempts: 0 });
    expect(run?.fence).toBe(2); // claimed with 1, advanced by the drain
    expect(String(run?.details.reason)).toContain("test deploy");

    const state = await checkStuckState("d-api", agent);
    expect(state).toMatchObject({ state: "drained", isStuck: false, canRecover: true });
    expect(state.pendingToolCalls).toEqual([]);
    expect((await readGauges(env.saver)).runs.drained).toBe(1);
    const service = new RecoveryService(agent);
    expect((await service.findStuckThreads()).map((s) => s.threadId)).toEqual(["d-api"]);

    const r = await recoverStuckSession("d-api", agent);
    expect(r).toMatchObject({ status: "resumed", outcome: "completed", attempts: 0 });
    expect(await readRun(env.saver, "d-api")).toMatchObject({ status: "completed" });
    const effects = await effectsOf(env.pool, schema, "d-api");
    expect(effects).toEqual({
      "s0:started": 1,
      "s0:effect": 1,
      "s1:started": 1,
      "s1:effect": 1,
      "s2:started": 1,
      "s2:effect": 1,
    });
  });

  it("drainOn SIGTERM: the app's run drains, `stuck` reports it (exit 0), `recover` finishes it", async () => {
    const slow: DeployFixture = { ...fx, stepMs: 1500, beatMs: 200 };
    const app = startApp(slow, ["d-sig"], { drainOn: ["SIGTERM"], leaseSeconds: 5 });
    await waitFor(
      async () => (await effectsOf(env.pool, schema, "d-sig"))["s0:started"] === 1,
      "the first step to start in the app",
    );
    app.child.kill("SIGTERM");
    await app.exited;
    const lines = jsonLines(app).filter((l) => l.threadId === "d-sig");
    expect(lines, app.output()).toEqual([expect.objectContaining({ ok: false, code: "DRAINED" })]);
    // The step that was running when SIGTERM came finished: nothing was cut off mid-tool.
    expect(await effectsOf(env.pool, schema, "d-sig")).toEqual({ "s0:started": 1, "s0:effect": 1 });
    expect(await readRun(env.saver, "d-sig")).toMatchObject({
      status: "drained",
      leaseLive: false,
    });

    const cli = (args: string[]) =>
      runCli(["--schema", schema, "--graph", `${DEPLOY_AGENT}:graph`, "--json", ...args], {
        DEPLOY_FIXTURE: JSON.stringify(fx),
      });
    const stuck = await cli(["stuck"]);
    expect(stuck.code, stuck.output).toBe(0);
    const report = JSON.parse(stuck.stdout);
    expect(report.stuck).toBe(0);
    expect(report.threads).toEqual([
      expect.objectContaining({ threadId: "d-sig", state: "drained", isStuck: false }),
    ]);

    const recovered = await cli(["recover", "d-sig"]);
    expect(recovered.code, recovered.output).toBe(0);
    expect(await readRun(env.saver, "d-sig")).toMatchObject({ status: "completed", attempts: 0 });
    expect(await duplicatesAndForks(env.pool, schema)).toEqual({ duplicated: 0, forks: 0 });
  });

  it("a drain that times out leaves the run to lease expiry; it is then recovered as crashed", async () => {
    const stuckTool: DeployFixture = { ...fx, hangAfterMs: 0, beatMs: 200, idempotent: true };
    const app = startApp(stuckTool, ["d-timeout"], {
      drainOn: ["SIGTERM"],
      drainTimeout: 1,
      leaseSeconds: 2,
      heartbeatMs: 400,
    });
    await waitFor(
      async () => (await effectsOf(env.pool, schema, "d-timeout"))["s0:started"] === 1,
      "the stuck step to start",
    );
    app.child.kill("SIGTERM");
    expect(await app.exited).toBeNull(); // ended by the re-raised SIGTERM, not by its own exit
    expect(app.child.signalCode).toBe("SIGTERM");
    // Not drained: its step never reached a boundary. Still `running` until the lease lapses.
    expect((await readRun(env.saver, "d-timeout"))?.status).toBe("running");

    const agent = await deployAgent(stuckTool);
    agent.checkpointer = env.saver;
    const crashed = await waitFor(async () => {
      const s = await checkStuckState("d-timeout", agent);
      return s.state === "crashed" ? s : undefined;
    }, "the lease to lapse");
    expect(crashed.canRecover).toBe(true);
    const r = await recoverStuckSession("d-timeout", agent);
    expect(r).toMatchObject({ status: "resumed", outcome: "completed" });
    expect(await effectsOf(env.pool, schema, "d-timeout")).toMatchObject({
      "s0:started": 2,
      "s0:effect": 1,
    });
  });
});

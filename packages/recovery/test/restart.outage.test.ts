import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { serverAnswers as answers } from "@agentstate/test-support/postgres";
import { RecoveryService, readRun, runDurably } from "../src/index.js";
import { type StepBehavior, stepsGraph } from "./fixtures/graphs.js";
import {
  DATABASE_URL,
  leasesLapsed,
  postgresReachable,
  testSaver,
  uniqueSchema,
  waitFor,
} from "./helpers.js";

// Runs in the "outage" phase (one file at a time): it stops the shared server for a few seconds.
const canControl =
  existsSync("/etc/postgresql") &&
  process.getuid?.() === 0 &&
  /127\.0\.0\.1|localhost/.test(DATABASE_URL);
const up = await postgresReachable();

function cluster(action: "stop" | "start"): void {
  const version = readdirSync("/etc/postgresql")[0] ?? "15";
  const extra = action === "stop" ? ["-m", "fast"] : [];
  try {
    execFileSync(
      "pg_ctlcluster",
      ["--skip-systemctl-redirect", version, "main", action, ...extra],
      { stdio: "ignore" },
    );
  } catch {
    // "already running/stopped" exits non-zero; the readiness loop is the real check
  }
}

const serverAnswers = () => answers(DATABASE_URL, 1000);

describe.skipIf(!up || !canControl)("Postgres restarted in the middle of a durable run", () => {
  const schema = uniqueSchema("outage");
  let env: Awaited<ReturnType<typeof testSaver>>;
  beforeAll(async () => {
    env = await testSaver(schema);
  });
  afterAll(async () => {
    cluster("start");
    await waitFor(serverAnswers, "Postgres to come back", 30_000, 200);
    await env.dispose();
  });

  it("the run fails cleanly with CONNECTION_LOST and a later sweep finishes it", async () => {
    const b: StepBehavior = { runs: {}, slowMs: 1500 };
    const graph = stepsGraph(env.saver, b);
    const opts = { leaseSeconds: 1, heartbeatMs: 200 };
    const run = runDurably(graph, { log: [] }, { configurable: { thread_id: "outage" } }, opts);
    const failed = run.then(
      () => undefined,
      (e: unknown) => e,
    );
    await waitFor(async () => b.runs.slow === 1, "the slow step to start");
    try {
      cluster("stop"); // the slow step finishes while the server is down: its write fails
      const error = (await failed) as { code?: string; message?: string };
      expect(error?.code).toBe("CONNECTION_LOST");
      expect(error.message).toMatch(/connection was lost/);
    } finally {
      cluster("start");
      await waitFor(serverAnswers, "Postgres to come back", 30_000, 200);
    }
    expect(b.runs).toEqual({ step1: 1, step2: 1, slow: 1 });
    await leasesLapsed(env.pool, schema);

    const service = new RecoveryService(graph, opts);
    const sweep = await service.sweep();
    expect(sweep.results).toEqual([
      expect.objectContaining({ threadId: "outage", status: "resumed", outcome: "completed" }),
    ]);
    const state = await graph.getState({ configurable: { thread_id: "outage" } });
    expect(state.values.log).toEqual(["step1", "step2", "slow", "step3"]);
    expect(state.next).toEqual([]);
    // The interrupted step ran again; the finished ones did not.
    expect(b.runs).toEqual({ step1: 1, step2: 1, slow: 2, step3: 1 });
    expect(await readRun(env.saver, "outage")).toMatchObject({ status: "completed" });
  }, 120_000);
});

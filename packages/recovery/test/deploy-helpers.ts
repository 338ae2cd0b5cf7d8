// Shared support of the drain, heartbeat, worker and deploy tests: the deploy fixture agent in
// this process, app processes (run-durable.ts), `agentstate worker` processes with their JSON
// logs, and the side-effect and fork counts every test checks.
import { resolve } from "node:path";
import type pg from "pg";
import type { DeployFixture } from "./fixtures/deploy-agent.js";
import { CLI, FIXTURES, type Spawned, spawnTs, waitFor } from "./helpers.js";

export const DEPLOY_AGENT = resolve(FIXTURES, "deploy-agent.ts");
const RUN_DURABLE = resolve(FIXTURES, "run-durable.ts");

/** The deploy fixture agent built in this process (the env var is what graph() reads). */
export async function deployAgent(fx: DeployFixture, exportName: "graph" | "timedGraph" = "graph") {
  process.env.DEPLOY_FIXTURE = JSON.stringify(fx);
  const mod = await import("./fixtures/deploy-agent.js");
  return exportName === "graph" ? mod.graph() : mod.timedGraph();
}

/** The interrupt() graph of the deploy fixture, built in this process. */
export async function approvalGraph() {
  return (await import("./fixtures/deploy-agent.js")).approvalGraph();
}

/** An app process running `threadIds` durably with `options` (drainOn, leaseSeconds, …). */
export function startApp(
  fx: DeployFixture,
  threadIds: string[],
  options: Record<string, unknown>,
  exportName = "graph",
  input?: unknown,
): Spawned {
  return spawnTs(RUN_DURABLE, [`${DEPLOY_AGENT}:${exportName}`, fx.schema, ...threadIds], {
    DEPLOY_FIXTURE: JSON.stringify(fx),
    RECOVERY_OPTIONS: JSON.stringify(options),
    ...(input ? { RUN_INPUT: JSON.stringify(input) } : {}),
  });
}

/** JSON lines a process printed (stdout and stderr), parsed; other lines skipped. */
export function jsonLines(p: Spawned): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const line of p.output().split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // a partial line still being written
    }
  }
  return out;
}

/** An `agentstate worker` process over the deploy fixture, logging JSON lines. */
export function startWorker(
  fx: DeployFixture,
  workerArgs: string[] = [],
  globalArgs: string[] = [],
  exportName = "graph",
): Spawned & { workerEvents(action?: string): Array<Record<string, unknown>> } {
  const p = spawnTs(
    CLI,
    [
      "--schema",
      fx.schema,
      "--graph",
      `deploy=${DEPLOY_AGENT}:${exportName}`,
      "--graph",
      `approval=${DEPLOY_AGENT}:approvalGraph`,
      "--log-json",
      ...globalArgs,
      "worker",
      ...workerArgs,
    ],
    { DEPLOY_FIXTURE: JSON.stringify(fx) },
  );
  return Object.assign(p, {
    workerEvents: (action?: string) =>
      jsonLines(p).filter((e) => e.event === "worker" && (!action || e.action === action)),
  });
}

/** Waits until a worker has looked at the ledger once (its "started" event). */
export async function workerStarted(w: ReturnType<typeof startWorker>): Promise<void> {
  await waitFor(
    async () => {
      if (w.child.exitCode !== null) throw new Error(`worker exited:\n${w.output().slice(-2000)}`);
      return w.workerEvents("started").length > 0;
    },
    "the worker to start",
    60_000,
  );
}

/** Effects per call that ran more than once, and checkpoints that share a parent (forks). */
export async function duplicatesAndForks(pool: pg.Pool, schema: string) {
  const dup = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (SELECT thread_id, tool_call_id FROM "${schema}".side_effects
     WHERE phase = 'effect' GROUP BY 1, 2 HAVING count(*) > 1) d`,
  );
  const forks = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (SELECT thread_id, parent_checkpoint_id FROM "${schema}".checkpoints
     WHERE checkpoint_ns = '' GROUP BY 1, 2 HAVING count(*) > 1) f`,
  );
  return { duplicated: dup.rows[0]?.n ?? 0, forks: forks.rows[0]?.n ?? 0 };
}

/** Ledger status per thread. */
export async function statuses(pool: pg.Pool, schema: string): Promise<Record<string, string>> {
  const { rows } = await pool.query<{ thread_id: string; status: string }>(
    `SELECT thread_id, status FROM "${schema}".agentstate_runs`,
  );
  return Object.fromEntries(rows.map((r) => [r.thread_id, r.status]));
}

/** Side-effect rows of one thread, as "call:phase" → count. */
export async function effectsOf(pool: pg.Pool, schema: string, threadId: string) {
  const { rows } = await pool.query<{ tool_call_id: string; phase: string; n: number }>(
    `SELECT tool_call_id, phase, count(*)::int AS n FROM "${schema}".side_effects
     WHERE thread_id = $1 GROUP BY 1, 2`,
    [threadId],
  );
  return Object.fromEntries(rows.map((r) => [`${r.tool_call_id}:${r.phase}`, r.n]));
}

// A rolling deploy: an app hands 20 durable threads over on SIGTERM, then two `agentstate worker`
// processes are replaced one at a time, three times, while the threads run. Every thread
// completes, no step's side effect runs twice, no checkpoint chain forks. The step tool is not
// idempotent: a handover that was a crash in disguise would send its thread to review (dead).

import {
  duplicatesAndForks,
  jsonLines,
  startApp,
  startWorker,
  statuses,
  workerStarted,
} from "./deploy-helpers.js";
import { closeEffects, ensureEffectsTable } from "./fixtures/agent.js";
import { closeDeployFixture, type DeployFixture } from "./fixtures/deploy-agent.js";
import { postgresReachable, testSaver, uniqueSchema, waitFor } from "./helpers.js";

const up = await postgresReachable();
const THREADS = 50;
const TURNS = 16;
type Worker = ReturnType<typeof startWorker>;

describe.skipIf(!up)("rolling deploy", () => {
  const schema = uniqueSchema("deploy");
  let env: Awaited<ReturnType<typeof testSaver>>;
  const all: Worker[] = [];
  const fx: DeployFixture = { schema, turns: TURNS, stepMs: 1500, beatMs: 300 };
  beforeAll(async () => {
    env = await testSaver(schema);
    await ensureEffectsTable(schema);
  });
  afterAll(async () => {
    for (const w of all) w.child.kill("SIGKILL");
    await closeEffects();
    await closeDeployFixture();
    await env.dispose();
  });

  const start = async () => {
    const w = startWorker(
      fx,
      ["--drain-timeout", "30s"],
      ["--concurrency", "25", "--lease-seconds", "5"],
    );
    all.push(w);
    await workerStarted(w);
    return w;
  };
  /** Resumes a worker process is running now, from the ledger (its owner name holds its pid). */
  const running = async (w: Worker) => {
    const { rows } = await env.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "${schema}".agentstate_runs
       WHERE status = 'recovering' AND owner LIKE $1`,
      [`%:${w.child.pid}:%`],
    );
    return rows[0]?.n ?? 0;
  };

  it(`${THREADS} threads survive an app restart and 5 worker replacements`, async () => {
    const ids = Array.from({ length: THREADS }, (_, i) => `roll-${String(i).padStart(2, "0")}`);
    let live = [await start(), await start()];
    const app = startApp(fx, ids, { drainOn: ["SIGTERM"], leaseSeconds: 5, drainTimeout: 30 });
    await waitFor(
      async () => {
        const { rows } = await env.pool.query<{ n: number }>(
          `SELECT count(DISTINCT thread_id)::int AS n FROM "${schema}".side_effects`,
        );
        return rows[0]?.n === THREADS;
      },
      "every thread's first step to start in the app",
      60_000,
    );
    app.child.kill("SIGTERM");
    await app.exited;
    expect(jsonLines(app).filter((l) => l.code === "DRAINED")).toHaveLength(THREADS);

    let handedOver = 0;
    let replaced = 0;
    for (let round = 0; round < 5; round++) {
      // Replace the worker that holds the most running resumes, once it holds some.
      // On a fast (or lightly loaded) machine the threads may all finish before the last round.
      const victim = await waitFor(
        async () => {
          const counts = await Promise.all(live.map(running));
          const most = Math.max(...counts);
          if (most > 0) return live[counts.indexOf(most)];
          const s = await statuses(env.pool, schema);
          return ids.every((id) => s[id] === "completed") ? "done" : undefined;
        },
        `round ${round}: a worker to be running resumes`,
        120_000,
      );
      if (victim === "done") break;
      victim.child.kill("SIGTERM");
      expect(await victim.exited, victim.output().slice(-3000)).toBe(0);
      const stopped = victim.workerEvents("stopped")[0];
      expect(stopped).toMatchObject({ abandoned: 0 });
      handedOver += Number(stopped?.drained ?? 0);
      live = [...live.filter((w) => w !== victim), await start()];
      replaced += 1;
    }
    console.log(`rolling deploy: ${replaced} worker replacements, ${handedOver} runs handed over`);
    expect(handedOver).toBeGreaterThan(0);

    await waitFor(
      async () => {
        const s = await statuses(env.pool, schema);
        const bad = Object.entries(s).filter(([, v]) => v === "dead" || v === "failed");
        if (bad.length) {
          const { rows } = await env.pool.query(
            `SELECT thread_id, status, attempts, fence, last_error, details->>'reason' AS reason
             FROM "${schema}".agentstate_runs WHERE status IN ('dead', 'failed')`,
          );
          const logs = all.map((w) =>
            w
              .output()
              .split("\n")
              .filter((l) => bad.some(([id]) => l.includes(id)))
              .join("\n"),
          );
          throw new Error(`threads went wrong: ${JSON.stringify(rows)}\n${logs.join("\n---\n")}`);
        }
        return ids.every((id) => s[id] === "completed");
      },
      "every thread to complete",
      240_000,
      500,
    );
    expect(await duplicatesAndForks(env.pool, schema)).toEqual({ duplicated: 0, forks: 0 });
    const { rows } = await env.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "${schema}".side_effects WHERE phase = 'effect'`,
    );
    expect(rows[0]?.n).toBe(THREADS * TURNS);
    // Each worker's claims of a thread: the app's drain, then every worker drain, moved it on.
    const claims = all.flatMap((w) => w.workerEvents("claimed"));
    expect(claims.length).toBeGreaterThanOrEqual(THREADS + handedOver);
  }, 420_000);
});

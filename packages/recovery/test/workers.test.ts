import { resolve } from "node:path";
import { recoverStuckSession } from "../src/index.js";
import { buildAgent, closeEffects, ensureEffectsTable } from "./fixtures/agent.js";
import {
  FIXTURES,
  leasesLapsed,
  postgresReachable,
  runCli,
  spawnTs,
  testSaver,
  uniqueSchema,
  waitFor,
} from "./helpers.js";

const RUN_AGENT = resolve(FIXTURES, "run-agent.ts");
const THREADS = 200;
const WORKERS = 4;
const up = await postgresReachable();

describe.skipIf(!up)("many workers, one resume per thread", () => {
  const schema = uniqueSchema("workers");
  let env: Awaited<ReturnType<typeof testSaver>>;
  beforeAll(async () => {
    env = await testSaver(schema);
    await ensureEffectsTable(schema);
  });
  afterAll(async () => {
    await closeEffects();
    await env.dispose();
  });

  const count = async (sql: string, params: unknown[] = []) =>
    Number((await env.pool.query(sql, params)).rows[0]?.n ?? 0);
  /** Checkpoints that share a parent: a forked chain. */
  const forks = () =>
    count(
      `SELECT count(*)::int AS n FROM (SELECT thread_id, parent_checkpoint_id FROM "${schema}".checkpoints
       WHERE checkpoint_ns = '' GROUP BY 1, 2 HAVING count(*) > 1) f`,
    );

  it(`${WORKERS} CLI workers sweeping ${THREADS} crashed threads resume each exactly once`, async () => {
    const ids = Array.from({ length: THREADS }, (_, i) => `w-${String(i).padStart(3, "0")}`);
    const crasher = spawnTs(RUN_AGENT, ["durable", ...ids], {
      AGENT_FIXTURE: JSON.stringify({ schema, hangOn: "t1-write" }),
      RECOVERY_OPTIONS: JSON.stringify({ leaseSeconds: 2, heartbeatMs: 500 }),
    });
    await waitFor(
      async () =>
        (await count(
          `SELECT count(*)::int AS n FROM "${schema}".side_effects WHERE tool_call_id = 't1-write' AND phase = 'started'`,
        )) === THREADS,
      `all ${THREADS} runs to be inside slow_write`,
      120_000,
      250,
    );
    // The sibling lookup logs "done" before LangGraph stores its writes; until they are stored a
    // crash may run it again (it is idempotent). Kill once every thread's lookup result is stored.
    await waitFor(
      async () =>
        (await count(
          `SELECT count(DISTINCT thread_id)::int AS n FROM "${schema}".checkpoint_writes
           WHERE channel = 'messages' AND position('result for beta' in convert_from(blob, 'UTF8')) > 0`,
        )) === THREADS,
      `all ${THREADS} sibling lookups to have their writes stored`,
      120_000,
      250,
    );
    crasher.child.kill("SIGKILL");
    await crasher.exited;
    await leasesLapsed(env.pool, schema);

    const workers = Array.from({ length: WORKERS }, () =>
      runCli(
        [
          "--schema",
          schema,
          "--graph",
          `agent=${FIXTURES}/agent.ts:graph`,
          "--json",
          "--quiet",
          "--concurrency",
          "4",
          "recover",
          "--all",
        ],
        { AGENT_FIXTURE: JSON.stringify({ schema }) },
      ),
    );
    const outputs = await Promise.all(workers);
    const resumed = new Map<string, number>();
    for (const o of outputs) {
      expect(o.code, o.output.slice(-2000)).toBe(0);
      for (const r of JSON.parse(o.stdout).results as Array<{
        threadId: string;
        status: string;
        outcome?: string;
      }>) {
        expect(["resumed", "already_running", "not_stuck"]).toContain(r.status);
        if (r.status === "resumed") {
          expect(r.outcome).toBe("completed");
          resumed.set(r.threadId, (resumed.get(r.threadId) ?? 0) + 1);
        }
      }
    }
    expect(resumed.size).toBe(THREADS);
    expect([...resumed.values()].every((n) => n === 1)).toBe(true);
    // Work was shared: more than one worker resumed something.
    const perWorker = outputs.map(
      (o) =>
        JSON.parse(o.stdout).results.filter((r: { status: string }) => r.status === "resumed")
          .length,
    );
    expect(perWorker.filter((n) => n > 0).length).toBeGreaterThan(1);

    expect(
      await count(
        `SELECT count(*)::int AS n FROM "${schema}".agentstate_runs WHERE status = 'completed'`,
      ),
    ).toBe(THREADS);
    const effects = await env.pool.query<{ tool_call_id: string; phase: string; n: number }>(
      `SELECT tool_call_id, phase, count(*)::int AS n FROM "${schema}".side_effects
       WHERE thread_id LIKE 'w-%' GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    // Per thread: each finished call ran once, the killed write once more to completion.
    expect(effects.rows).toEqual([
      { tool_call_id: "t0-lookup", phase: "done", n: THREADS },
      { tool_call_id: "t1-lookup", phase: "done", n: THREADS },
      { tool_call_id: "t1-write", phase: "done", n: THREADS },
      { tool_call_id: "t1-write", phase: "effect", n: THREADS },
      { tool_call_id: "t1-write", phase: "started", n: 2 * THREADS },
    ]);
    expect(await forks()).toBe(0);
  }, 300_000);

  it("a paused zombie that wakes after its lease was taken over is fenced: nothing written", async () => {
    const threadId = "zombie";
    const zombie = spawnTs(RUN_AGENT, ["durable", threadId], {
      AGENT_FIXTURE: JSON.stringify({ schema, hangOn: "t1-write", hangMs: 2500 }),
      // No heartbeat in the window: the zombie finds out only when it writes.
      RECOVERY_OPTIONS: JSON.stringify({ leaseSeconds: 1, heartbeatMs: 60_000 }),
    });
    await waitFor(
      async () =>
        (await count(
          `SELECT count(*)::int AS n FROM "${schema}".side_effects WHERE thread_id = $1 AND tool_call_id = 't1-write'`,
          [threadId],
        )) === 1,
      "the zombie to enter slow_write",
    );
    zombie.child.kill("SIGSTOP");
    await leasesLapsed(env.pool, schema);
    const agent = buildAgent({ schema }, env.saver);
    const r = await recoverStuckSession(threadId, agent);
    expect(r).toMatchObject({ status: "resumed", outcome: "completed" });
    const snapshot = async () => ({
      checkpoints: await count(
        `SELECT count(*)::int AS n FROM "${schema}".checkpoints WHERE thread_id = $1`,
        [threadId],
      ),
      writes: await count(
        `SELECT count(*)::int AS n FROM "${schema}".checkpoint_writes WHERE thread_id = $1`,
        [threadId],
      ),
    });
    const before = await snapshot();

    zombie.child.kill("SIGCONT");
    await zombie.exited;
    const line = zombie.stdout().trim().split("\n").at(-1) ?? "";
    expect(JSON.parse(line)).toMatchObject({ threadId, ok: false, code: "FENCED" });
    expect(await snapshot()).toEqual(before);
    expect(await forks()).toBe(0);
    const run = (
      await env.pool.query(
        `SELECT status, owner FROM "${schema}".agentstate_runs WHERE thread_id = $1`,
        [threadId],
      )
    ).rows[0];
    expect(run).toEqual({ status: "completed", owner: null });
  }, 120_000);
});

import { resolve } from "node:path";
import { PostgresCheckpointer } from "@agentstate/checkpointer";
import pg from "pg";
import {
  type PgBouncer,
  pgbouncerInstalled,
  startPgBouncer,
} from "../../checkpointer/test/pgbouncer.js";
import { checkStuckState, readRun, recoverStuckSession } from "../src/index.js";
import { listenForDrains } from "../src/notify.js";
import { startWorker, workerStarted } from "./deploy-helpers.js";
import { buildAgent, closeEffects, ensureEffectsTable } from "./fixtures/agent.js";
import {
  DATABASE_URL,
  FIXTURES,
  postgresReachable,
  runCli,
  spawnTs,
  uniqueSchema,
  waitFor,
} from "./helpers.js";

// Durable runs, crash recovery, the CLI and the worker's LISTEN through a real PgBouncer in
// transaction mode: nothing may rely on session state between statements.
const RUN_AGENT = resolve(FIXTURES, "run-agent.ts");
const GRAPH = `${FIXTURES}/agent.ts:graph`;
const up = (await postgresReachable()) && (pgbouncerInstalled || process.env.CI !== undefined);

describe.skipIf(!up)("behind PgBouncer (transaction mode)", () => {
  const schema = uniqueSchema("pgb");
  const fresh = uniqueSchema("pgbsetup");
  let bouncer: PgBouncer;
  let pool: pg.Pool;
  let saver: PostgresCheckpointer;
  const childEnv = () => ({
    DATABASE_URL: bouncer.url,
    AGENT_FIXTURE: JSON.stringify({ schema, hangOn: "t1-write" }),
    RECOVERY_OPTIONS: JSON.stringify({ leaseSeconds: 2, heartbeatMs: 400 }),
  });

  /** Runs the fixture agent durably in a child through PgBouncer and SIGKILLs it mid-tool. */
  async function crash(threadId: string): Promise<void> {
    const child = spawnTs(RUN_AGENT, ["durable", threadId], childEnv());
    await waitFor(async () => {
      const { rows } = await pool.query(
        `SELECT 1 FROM "${schema}".side_effects
         WHERE thread_id = $1 AND tool_call_id = 't1-write' AND phase = 'started'`,
        [threadId],
      );
      return rows.length > 0;
    }, "the slow tool to start in the child");
    child.child.kill("SIGKILL");
    await child.exited;
  }

  const cli = (args: string[], inSchema = schema) =>
    runCli(["--database-url", bouncer.url, "--schema", inSchema, "--json", ...args], {
      DATABASE_URL: "",
      AGENT_FIXTURE: JSON.stringify({ schema }),
    });

  beforeAll(async () => {
    bouncer = await startPgBouncer();
    // The agent fixture keeps its side-effect table in the test schema, created through the pooler.
    process.env.DATABASE_URL = bouncer.url;
    pool = new pg.Pool({ connectionString: bouncer.url, max: 4 });
    saver = new PostgresCheckpointer(pool, undefined, { schema });
    await saver.setup();
    await ensureEffectsTable(schema);
  });
  afterAll(async () => {
    await closeEffects();
    for (const s of [schema, fresh])
      await pool?.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`).catch(() => {});
    await pool?.end();
    await bouncer?.stop();
    process.env.DATABASE_URL = DATABASE_URL;
  });

  it("agentstate setup and stats work with --database-url at the pooler", async () => {
    const setup = await cli(["setup"], fresh);
    expect(setup.code, setup.output).toBe(0);
    const again = await cli(["setup"], fresh); // already current: a no-op
    expect(again.code, again.output).toBe(0);
    const stats = await cli(["stats"], fresh);
    expect(stats.code, stats.output).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({ totalCheckpoints: 0 });
  });

  it("a durable run completes, and a run killed mid-tool is recovered once", async () => {
    const ok = spawnTs(RUN_AGENT, ["durable", "pgb-ok"], {
      ...childEnv(),
      AGENT_FIXTURE: JSON.stringify({ schema }),
    });
    expect(await ok.exited, ok.output()).toBe(0);
    expect(JSON.parse(ok.stdout().trim().split("\n").at(-1) ?? "{}")).toMatchObject({ ok: true });
    expect(await readRun(saver, "pgb-ok")).toMatchObject({ status: "completed" });

    await crash("pgb-crash");
    const agent = buildAgent({ schema }, saver);
    await waitFor(async () => {
      const s = await checkStuckState("pgb-crash", agent);
      return s.state === "crashed";
    }, "the lease to expire");
    const result = await recoverStuckSession("pgb-crash", agent);
    expect(result).toMatchObject({ status: "resumed", outcome: "completed", attempts: 1 });
    expect(await readRun(saver, "pgb-crash")).toMatchObject({ status: "completed" });
  });

  it("agentstate stuck and recover find and resume a crashed run through the pooler", async () => {
    await crash("pgb-cli");
    await waitFor(
      async () => (await checkStuckState("pgb-cli", buildAgent({ schema }, saver))).isStuck,
      "the lease to expire",
    );
    const stuck = await cli(["--graph", GRAPH, "stuck"]);
    expect(stuck.code, stuck.output).toBe(2);
    expect(JSON.parse(stuck.stdout).threads).toEqual([
      expect.objectContaining({ threadId: "pgb-cli", state: "crashed", canRecover: true }),
    ]);
    const recover = await cli(["--graph", GRAPH, "recover", "--all"]);
    expect(recover.code, recover.output).toBe(0);
    expect(JSON.parse(recover.stdout).results).toEqual([
      expect.objectContaining({ threadId: "pgb-cli", status: "resumed", outcome: "completed" }),
    ]);
    expect((await cli(["--graph", GRAPH, "stuck"])).code).toBe(0);
  });

  it("the worker's LISTEN falls back to polling through the pooler", async () => {
    const reasons: string[] = [];
    const listener = await listenForDrains(saver, () => {}, {
      probeTimeoutMs: 1000,
      onMode: (_mode, reason) => reasons.push(reason),
    });
    expect(listener.mode).toBe("poll");
    expect(reasons.join("\n")).toContain("--listen-url");
    await listener.close();
  });

  it("with a direct listenUrl the worker LISTENs and hears NOTIFYs sent through the pooler", async () => {
    // The probe NOTIFY goes through the pooler's pool; mode "listen" means it came back.
    const listener = await listenForDrains(saver, () => {}, { listenUrl: DATABASE_URL });
    expect(listener.mode).toBe("listen");
    await listener.close();
  });

  it("agentstate worker --database-url <pooler> polls; with --listen-url <direct> it LISTENs", async () => {
    const fx = { schema, turns: 1, stepMs: 10, beatMs: 200, idempotent: true };
    for (const [extra, mode] of [
      [[], "poll"],
      [["--listen-url", DATABASE_URL], "listen"],
    ] as const) {
      const w = startWorker(fx, [...extra], ["--database-url", bouncer.url]);
      try {
        await workerStarted(w);
        expect(w.workerEvents("started")[0], w.output()).toMatchObject({ mode });
        expect(w.output()).not.toContain(DATABASE_URL);
      } finally {
        w.child.kill("SIGTERM");
      }
      expect(await w.exited, w.output()).toBe(0);
    }
  });
});

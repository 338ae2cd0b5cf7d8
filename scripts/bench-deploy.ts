/**
 * @agentstate/recovery deploys: how long a thread waits to be resumed elsewhere when its process
 * goes away. Real processes (an app with `drainOn`, `agentstate worker`s), the deploy fixture
 * agent (slow steps, heartbeating), one machine, clocks compared on the same host:
 *   1. app SIGTERM → the thread is claimed by a worker (drain at the next step boundary + NOTIFY);
 *   2. worker SIGTERM → claimed by another worker (LISTEN), and drain commit → claim;
 *   3. the same with the receiving worker polling (`--no-listen`);
 *   4. worker SIGKILL → claimed by another worker (lease expiry + the sweep timed from it).
 * Figures from one run; nothing here asserts on time.
 *
 *   npx tsx scripts/bench-deploy.ts          (BENCH_QUICK=1: 10 threads instead of 40)
 */
import { spawn, spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { runWithSourceCondition } from "./lib/main.js";
import { databaseUrl, dropSchema, freshSchema, newPool } from "./lib/pg.js";
import { median } from "./lib/stats.js";
import { fmt, formatTable } from "./lib/table.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const FIXTURES = resolve(ROOT, "packages/recovery/test/fixtures");
const CLI = resolve(ROOT, "packages/recovery/src/cli/main.ts");
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
const LEASE_SECONDS = 5;
const STEP_MS = 500;

interface Proc {
  pid: number;
  lines(): Array<Record<string, unknown>>;
  exited: Promise<number | null>;
  kill(sig: NodeJS.Signals): void;
}

function start(file: string, args: string[], env: Record<string, string>): Proc {
  const child = spawn(
    process.execPath,
    ["--conditions=agentstate-source", "--import", TSX, file, ...args],
    { cwd: ROOT, env: { ...process.env, DATABASE_URL: databaseUrl(), ...env } },
  );
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  return {
    pid: child.pid ?? 0,
    lines: () =>
      out.split("\n").flatMap((l) => {
        if (!l.startsWith("{")) return [];
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
    exited: new Promise((r) => child.on("exit", (code) => r(code))),
    kill: (sig) => child.kill(sig),
  };
}

async function until<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
) {
  const end = Date.now() + 180_000;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const claims = (w: Proc, since: number) =>
  new Map(
    w
      .lines()
      .filter(
        (e) => e.event === "worker" && e.action === "claimed" && Date.parse(String(e.at)) >= since,
      )
      .map((e) => [String(e.threadId), Date.parse(String(e.at))]),
  );

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN;
}

export async function main(): Promise<void> {
  const quick = process.env.BENCH_QUICK === "1";
  const threads = quick ? 10 : 40;
  const schema = freshSchema("deploy");
  const pool = newPool(4);
  const fx = { schema, turns: 10_000, stepMs: STEP_MS, beatMs: 200, idempotent: true };
  const env = { DEPLOY_FIXTURE: JSON.stringify(fx) };
  const procs: Proc[] = [];
  const worker = async (extra: string[] = []) => {
    const w = start(
      CLI,
      [
        "--schema",
        schema,
        "--graph",
        `${FIXTURES}/deploy-agent.ts:graph`,
        "--log-json",
        "--quiet",
        "--concurrency",
        String(threads),
        "--lease-seconds",
        String(LEASE_SECONDS),
        "worker",
        ...extra,
      ],
      env,
    );
    procs.push(w);
    await until(() => w.lines().some((e) => e.action === "started"), "a worker to start");
    return w;
  };
  const holds = async (w: Proc) => {
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "${schema}".agentstate_runs WHERE status IN ('running','recovering') AND owner LIKE $1`,
      [`%:${w.pid}:%`],
    );
    return rows[0]?.n ?? 0;
  };
  const rows: string[][] = [];
  const record = (what: string, ms: number[]) =>
    rows.push([
      what,
      String(ms.length),
      fmt(median(ms), 0),
      fmt(pct(ms, 99), 0),
      fmt(Math.max(...ms), 0),
    ]);

  try {
    const setup = spawnSync(
      process.execPath,
      [
        "--conditions=agentstate-source",
        "--import",
        TSX,
        CLI,
        "--schema",
        schema,
        "setup",
        "--quiet",
      ],
      { cwd: ROOT, env: { ...process.env, DATABASE_URL: databaseUrl() } },
    );
    if (setup.status !== 0) throw new Error(`setup failed: ${setup.stderr}`);
    await pool.query(
      `CREATE TABLE "${schema}".side_effects (thread_id TEXT, tool_call_id TEXT, phase TEXT, at TIMESTAMPTZ DEFAULT now())`,
    );
    const ids = Array.from({ length: threads }, (_, i) => `bench-${i}`);

    // 1. app → worker
    const w1 = await worker();
    const app = start(
      resolve(FIXTURES, "run-durable.ts"),
      [`${FIXTURES}/deploy-agent.ts:graph`, schema, ...ids],
      {
        ...env,
        RECOVERY_OPTIONS: JSON.stringify({ drainOn: ["SIGTERM"], leaseSeconds: LEASE_SECONDS }),
      },
    );
    procs.push(app);
    await until(async () => {
      const { rows: r } = await pool.query<{ n: number }>(
        `SELECT count(DISTINCT thread_id)::int AS n FROM "${schema}".side_effects`,
      );
      return r[0]?.n === threads;
    }, "the app's runs to start");
    let t0 = Date.now();
    app.kill("SIGTERM");
    await until(() => claims(w1, t0).size === threads, "worker 1 to claim every thread");
    record(
      "app SIGTERM → claimed by a worker",
      [...claims(w1, t0).values()].map((t) => t - t0),
    );

    // 2. worker → worker (LISTEN)
    const w2 = await worker();
    t0 = Date.now();
    w1.kill("SIGTERM");
    await until(() => claims(w2, t0).size === threads, "worker 2 to claim every thread");
    const got = claims(w2, t0);
    record(
      "worker SIGTERM → claimed by another worker (LISTEN)",
      [...got.values()].map((t) => t - t0),
    );
    const drainedAt = w1
      .lines()
      .filter((e) => e.event === "recovery" && e.outcome === "drained")
      .map((e) => [String(e.threadId), Date.parse(String(e.at))] as const);
    record(
      "  of which: drain committed → claimed (NOTIFY → claim)",
      drainedAt.flatMap(([id, at]) => (got.has(id) ? [Math.max(0, (got.get(id) ?? 0) - at)] : [])),
    );
    console.log(`worker 1 exited with ${await w1.exited}`);

    // 3. worker → worker (polling)
    const w3 = await worker(["--no-listen"]);
    t0 = Date.now();
    w2.kill("SIGTERM");
    await until(() => claims(w3, t0).size === threads, "worker 3 (polling) to claim every thread");
    record(
      "worker SIGTERM → claimed by a polling worker",
      [...claims(w3, t0).values()].map((t) => t - t0),
    );

    // 4. SIGKILL → lease expiry → claimed
    const w4 = await worker();
    await until(async () => (await holds(w3)) === threads, "worker 3 to hold every thread");
    t0 = Date.now();
    w3.kill("SIGKILL");
    const { rows: leases } = await pool.query<{ thread_id: string; until: Date }>(
      `SELECT thread_id, lease_until AS until FROM "${schema}".agentstate_runs`,
    );
    await until(() => claims(w4, t0).size === threads, "worker 4 to claim every thread");
    const k = claims(w4, t0);
    record(
      `worker SIGKILL → claimed by another worker (lease ${LEASE_SECONDS} s)`,
      [...k.values()].map((t) => t - t0),
    );
    if (process.env.BENCH_DEBUG) {
      const lag = leases.map((l) => [
        l.thread_id,
        (k.get(l.thread_id) ?? 0) - l.until.getTime(),
        l.until.getTime() - t0,
      ]);
      console.log(JSON.stringify(lag.sort((a, b) => Number(a[1]) - Number(b[1]))));
    }
    record(
      "  of which: lease expiry → claimed",
      leases.flatMap((l) =>
        k.has(l.thread_id) ? [Math.max(0, (k.get(l.thread_id) ?? 0) - l.until.getTime())] : [],
      ),
    );

    console.log(
      `\n${threads} threads of the deploy fixture (steps of ${STEP_MS} ms that heartbeat), workers with --concurrency ${threads} --lease-seconds ${LEASE_SECONDS}; ms\n`,
    );
    console.log(formatTable(["handoff", "threads", "p50", "p99", "max"], rows));
    const errors = procs.flatMap((p) => p.lines().filter((e) => e.action === "error"));
    console.log(
      `\nworker errors: ${errors.length}${errors.length ? ` (first: ${JSON.stringify(errors[0])})` : ""}`,
    );
  } finally {
    for (const p of procs) p.kill("SIGKILL");
    await pool.end();
    await dropSchema(schema);
  }
}

runWithSourceCondition(import.meta.url, main);

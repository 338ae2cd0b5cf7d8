// The recovery tests' helpers: a saver per schema, the CLI and fixtures in child processes, and
// waits on the database. The probe, URL and schema names come from @agentstate/test-support.
import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { PostgresCheckpointer } from "@agentstate/checkpointer";
import { DATABASE_URL, postgresReachable } from "@agentstate/test-support/postgres";
import { dropSchema, uniqueSchema } from "@agentstate/test-support/schema";
import pg from "pg";

export { DATABASE_URL, postgresReachable, uniqueSchema };
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), "fixtures");
export const CLI = resolve(ROOT, "packages/recovery/src/cli/main.ts");
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

/** A set-up checkpointer on its own pool in `schema`; `dispose` drops the schema. */
export async function testSaver(schema: string, max = 6) {
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max });
  // A restarted server makes idle clients emit 'error'; unhandled, that would kill the test worker.
  pool.on("error", () => {});
  const saver = new PostgresCheckpointer(pool, undefined, { schema });
  await saver.setup();
  return {
    saver,
    pool,
    async dispose() {
      await dropSchema(schema, pool).catch(() => {});
      await pool.end();
    },
  };
}

export interface Spawned {
  child: ChildProcess;
  /** stdout and stderr interleaved. */
  output(): string;
  stdout(): string;
  exited: Promise<number | null>;
}

/** Runs a TypeScript file in a fresh Node process with the workspace-source condition. */
export function spawnTs(
  file: string,
  args: string[],
  env: Record<string, string> = {},
  cwd = ROOT,
): Spawned {
  // tsx is resolved from the workspace, so the child may run in any directory.
  const child = spawn(
    process.execPath,
    ["--conditions=agentstate-source", "--import", TSX, file, ...args],
    { cwd, env: { ...process.env, DATABASE_URL, ...env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  let stdout = "";
  child.stdout?.on("data", (d) => {
    out += d;
    stdout += d;
  });
  child.stderr?.on("data", (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  return { child, output: () => out, stdout: () => stdout, exited };
}

/** Runs the real CLI from source; resolves with its exit code and output. */
export async function runCli(args: string[], env: Record<string, string> = {}, cwd = ROOT) {
  const p = spawnTs(CLI, args, env, cwd);
  const code = await p.exited;
  return { code, output: p.output(), stdout: p.stdout() };
}

export async function waitFor<T>(
  fn: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until no thread of `schema` holds a live lease (database clock), instead of sleeping. */
export async function leasesLapsed(pool: pg.Pool, schema: string): Promise<void> {
  await waitFor(async () => {
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "${schema}".agentstate_runs WHERE lease_until > now()`,
    );
    return rows[0]?.n === 0;
  }, "every lease to lapse");
}

/** The fixture agent's side-effect log of one thread, as { "callId:phase": count }. */
export async function effectCounts(
  pool: pg.Pool,
  schema: string,
  threadId: string,
): Promise<Record<string, number>> {
  const { rows } = await pool.query<{ tool_call_id: string; phase: string; n: number }>(
    `SELECT tool_call_id, phase, count(*)::int AS n FROM "${schema}".side_effects
     WHERE thread_id = $1 GROUP BY 1, 2 ORDER BY 1, 2`,
    [threadId],
  );
  return Object.fromEntries(rows.map((r) => [`${r.tool_call_id}:${r.phase}`, r.n]));
}

import { randomBytes } from "node:crypto";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { PostgresCheckpointer } from "../src/index.js";

export const DATABASE_URL =
  process.env.AGENTSTATE_TEST_DATABASE_URL ??
  process.env.DATABASE_URL ??
  "postgres://postgres@127.0.0.1:5432/test";

/** CI sets this so an unreachable server fails the run instead of skipping. */
const REQUIRE = process.env.AGENTSTATE_REQUIRE_POSTGRES === "1";

let reachable: boolean | undefined;

/** Whether the Postgres server answers; prints a one-line notice when tests will be skipped. */
export async function postgresReachable(): Promise<boolean> {
  if (reachable !== undefined) return reachable;
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
    reachable = true;
  } catch (error) {
    if (REQUIRE)
      throw new Error(
        `AGENTSTATE_REQUIRE_POSTGRES=1 but ${DATABASE_URL} is unreachable: ${(error as Error).message}`,
      );
    console.warn(
      `[agentstate] Postgres at ${DATABASE_URL} unreachable: server-only tests skipped.`,
    );
    reachable = false;
  } finally {
    await client.end().catch(() => {});
  }
  return reachable;
}

export const pgUp = await postgresReachable();

export function uniqueSchema(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString("hex")}`;
}

export interface Target {
  name: "postgres" | "pglite";
  /** A set-up checkpointer in a fresh schema; `dispose` drops the schema and closes connections. */
  create(schema?: string): Promise<{ saver: PostgresCheckpointer; dispose(): Promise<void> }>;
}

export const postgresTarget: Target = {
  name: "postgres",
  async create(schema = uniqueSchema("t")) {
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 4 });
    const saver = new PostgresCheckpointer(pool, undefined, { schema });
    await saver.setup();
    return {
      saver,
      async dispose() {
        await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await pool.end();
      },
    };
  },
};

export const pgliteTarget: Target = {
  name: "pglite",
  async create(schema = "public") {
    const db = await PGlite.create("memory://");
    const saver = new PostgresCheckpointer(db, undefined, { schema, endPool: true });
    await saver.setup();
    return { saver, dispose: () => saver.end() };
  },
};

/** Real Postgres when it is up (always in CI), and the embedded default everywhere. */
export const targets: Target[] = pgUp ? [postgresTarget, pgliteTarget] : [pgliteTarget];

/** A pool on the test database for tests that look at the tables directly. */
export function adminPool(): pg.Pool {
  return new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
}

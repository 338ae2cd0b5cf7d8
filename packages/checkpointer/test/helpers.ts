// The checkpointer tests' savers: a fresh one on the shared Postgres (when it answers) and on the
// embedded PGlite. The probe, URL and schema names come from @agentstate/test-support.
import { DATABASE_URL, postgresReachable } from "@agentstate/test-support/postgres";
import { dropSchema, uniqueSchema } from "@agentstate/test-support/schema";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { PostgresCheckpointer } from "../src/index.js";

export { DATABASE_URL, dropSchema, uniqueSchema };

export const pgUp = await postgresReachable();

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
        await dropSchema(schema, pool);
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

import { deltaChannelHistoryTests, validate } from "@langchain/langgraph-checkpoint-validation";
import pg from "pg";
import { PostgresCheckpointer } from "../src/index.js";
import { dropSchema, pgUp, uniqueSchema } from "./helpers.js";
import { type PgBouncer, pgbouncerInstalled, startPgBouncer } from "./pgbouncer.js";

// The official conformance kit against a saver whose pool connects through PgBouncer in
// transaction mode (pgbouncer 1.18: no prepared statements, no session state across statements).
const run = pgUp && (pgbouncerInstalled || process.env.CI !== undefined);

describe.skipIf(!run)("through PgBouncer (transaction mode)", () => {
  let bouncer: PgBouncer;
  beforeAll(async () => {
    bouncer = await startPgBouncer();
  });
  afterAll(async () => {
    await bouncer?.stop();
  });

  const disposers = new Map<PostgresCheckpointer, () => Promise<void>>();
  const initializer = {
    checkpointerName: "@agentstate/checkpointer (pgbouncer)",
    beforeAllTimeout: 60_000,
    async createCheckpointer() {
      const schema = uniqueSchema("pgb");
      const pool = new pg.Pool({ connectionString: bouncer.url, max: 4 });
      const saver = new PostgresCheckpointer(pool, undefined, { schema });
      await saver.setup();
      disposers.set(saver, async () => {
        await dropSchema(schema, pool);
        await pool.end();
      });
      return saver;
    },
    async destroyCheckpointer(saver: PostgresCheckpointer) {
      await disposers.get(saver)?.();
      disposers.delete(saver);
    },
  };
  validate(initializer);
  deltaChannelHistoryTests(initializer);
});

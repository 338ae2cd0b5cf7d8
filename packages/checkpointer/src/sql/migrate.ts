// setup()'s runner: applies the pending entries of migrations.ts in one locked transaction.
import type { Database, Queryable } from "../db.js";
import { CheckpointerError, SQLSTATE } from "../errors.js";
import type { Tables } from "./identifiers.js";
import { migrations } from "./migrations.js";

/** Version of the newest migration this package knows. */
export function latestVersion(t: Tables): number {
  return migrations(t).at(-1)?.version ?? -1;
}

async function currentVersion(q: Queryable, t: Tables): Promise<number> {
  const { rows } = await q.query<{ present: boolean }>(
    "SELECT to_regclass($1) IS NOT NULL AS present",
    [t.migrations],
  );
  if (!rows[0]?.present) return -1;
  const v = await q.query<{ v: number | null }>(`SELECT max(v) AS v FROM ${t.migrations}`);
  return v.rows[0]?.v ?? -1;
}

/** Outside a transaction a missing table can just fail: one query in the common case. */
async function currentVersionFast(q: Queryable, t: Tables): Promise<number> {
  try {
    const v = await q.query<{ v: number | null }>(`SELECT max(v) AS v FROM ${t.migrations}`);
    return v.rows[0]?.v ?? -1;
  } catch (error) {
    if ((error as { code?: string }).code === SQLSTATE.UNDEFINED_TABLE) return -1;
    throw error;
  }
}

/**
 * Brings the schema to the latest version. All pending migrations run in one transaction that
 * first takes an advisory lock keyed by the schema name, so concurrent setups queue behind the
 * first and then find nothing left to do. A schema that is already current costs one query.
 */
export async function runMigrations(
  db: Database,
  t: Tables,
  options: { schema: string; createSchema: boolean },
): Promise<void> {
  if ((await currentVersionFast(db, t)) >= latestVersion(t)) return;
  await db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock(hashtext('agentstate.migrate'), hashtext($1))", [
      options.schema,
    ]);
    if (options.createSchema) {
      await tx.query(`CREATE SCHEMA IF NOT EXISTS ${t.schema}`);
    } else {
      const { rows } = await tx.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [
        options.schema,
      ]);
      if (rows.length === 0) {
        throw new CheckpointerError(
          "NOT_SET_UP",
          `setup(): schema "${options.schema}" does not exist and createSchema is false. Create it (CREATE SCHEMA) or allow createSchema.`,
          { operation: "setup" },
        );
      }
    }
    const current = await currentVersion(tx, t);
    for (const m of migrations(t)) {
      if (m.version <= current) continue;
      for (const statement of m.sql) await tx.query(statement);
      await tx.query(`INSERT INTO ${t.migrations} (v) VALUES ($1) ON CONFLICT (v) DO NOTHING`, [
        m.version,
      ]);
    }
  });
}

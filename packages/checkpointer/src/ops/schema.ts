// Read-only view of a schema against this package's migrations (never creates anything), and
// the pending SQL for DBAs who apply migrations by hand.
import type { DbSeam } from "../seam.js";
import { latestVersion } from "../sql/migrate.js";
import { migrations } from "../sql/migrations.js";

export interface SchemaStatus {
  /** The schema name, unquoted. */
  schema: string;
  /** The schema exists in the database. */
  exists: boolean;
  /** Highest applied migration (-1: no migrations table). */
  version: number;
  /** Highest migration this package knows. */
  latest: number;
  /** Versions still to apply, in order. */
  pending: number[];
}

/** Where the saver's schema stands. Two catalog reads; creates no schema, table or row. */
export async function getSchemaStatus(db: DbSeam): Promise<SchemaStatus> {
  const t = db.tables;
  const schema = db.schema;
  const [row] = await db.run<{ exists: boolean; has_table: boolean }>(
    "schemaStatus()",
    `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS exists,
       to_regclass($2) IS NOT NULL AS has_table`,
    [schema, t.migrations],
  );
  let version = -1;
  if (row?.has_table) {
    const [v] = await db.run<{ v: number | null }>(
      "schemaStatus()",
      `SELECT max(v)::int AS v FROM ${t.migrations}`,
    );
    version = v?.v ?? -1;
  }
  const pending = migrations(t)
    .filter((m) => m.version > version)
    .map((m) => m.version);
  return { schema, exists: Boolean(row?.exists), version, latest: latestVersion(t), pending };
}

/**
 * The SQL that `setup()` would run from version `from` on: one transaction under the same
 * advisory lock, each migration headed by a `-- vN: name` comment and followed by its version
 * row. For DBAs who apply it by hand.
 */
export function pendingMigrationSql(db: DbSeam, from: number): string {
  const t = db.tables;
  const pending = migrations(t).filter((m) => m.version >= from);
  if (pending.length === 0) return "";
  const lines = [
    "BEGIN;",
    `SELECT pg_advisory_xact_lock(hashtext('agentstate.migrate'), hashtext('${db.schema.replace(/'/g, "''")}'));`,
    `CREATE SCHEMA IF NOT EXISTS ${t.schema};`,
  ];
  for (const m of pending) {
    lines.push(`-- v${m.version}: ${m.name}`);
    for (const statement of m.sql) lines.push(`${statement.trim()};`);
    lines.push(`INSERT INTO ${t.migrations} (v) VALUES (${m.version}) ON CONFLICT (v) DO NOTHING;`);
  }
  lines.push("COMMIT;");
  return `${lines.join("\n")}\n`;
}

// Isolated schemas on the shared Postgres: each test file (or bench run) works in a schema no other
// file, process or run uses, and drops it when done, so files can run in parallel.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { DATABASE_URL } from "./postgres.js";

/** A schema name no other file or process uses: `<prefix>_<pid>_<8 hex digits>`. */
export function uniqueSchema(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString("hex")}`;
}

/** What `dropSchema` can run its statement on: a pg.Pool, a pg.Client or a PGlite. */
export interface Queryable {
  query(sql: string): Promise<unknown>;
}

/**
 * Drops `schema` and everything in it, if it exists. Runs on `on` (a pool or client the caller
 * still owns), or on a short-lived connection to `on` when it is a URL (default DATABASE_URL).
 */
export async function dropSchema(schema: string, on: Queryable | string = DATABASE_URL) {
  const sql = `DROP SCHEMA IF EXISTS "${schema.replace(/"/g, '""')}" CASCADE`;
  if (typeof on !== "string") {
    await on.query(sql);
    return;
  }
  const client = new pg.Client({ connectionString: on });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

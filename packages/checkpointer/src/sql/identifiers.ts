// Schema and table names: quoted once, with Postgres' length limit checked, for every statement.
import { CheckpointerError } from "../errors.js";

/** Postgres truncates identifiers at 63 bytes; a silently truncated schema name would alias another. */
const MAX_IDENTIFIER_BYTES = 63;

/**
 * Quotes an identifier the way Postgres does: wrap in double quotes, double any inner quote.
 * Names that can never be valid (empty, NUL, longer than 63 bytes) are rejected up front.
 */
export function quoteIdentifier(name: string, what = "schema name"): string {
  if (typeof name !== "string" || name.length === 0) {
    throw new CheckpointerError("INVALID_SCHEMA_NAME", `The ${what} must be a non-empty string.`);
  }
  if (name.includes("\u0000")) {
    throw new CheckpointerError("INVALID_SCHEMA_NAME", `The ${what} must not contain NUL bytes.`);
  }
  if (Buffer.byteLength(name, "utf8") > MAX_IDENTIFIER_BYTES) {
    throw new CheckpointerError(
      "INVALID_SCHEMA_NAME",
      `The ${what} "${name.slice(0, 20)}…" is longer than Postgres' ${MAX_IDENTIFIER_BYTES}-byte identifier limit.`,
    );
  }
  return `"${name.replace(/"/g, '""')}"`;
}

/** A schema name for the tables: a valid identifier, and not one Postgres reserves. */
export function quoteSchemaName(name: string): string {
  const quoted = quoteIdentifier(name);
  // CREATE SCHEMA refuses pg_* (SQLSTATE 42939); pg_temp is per connection, so a pool would scatter a thread.
  if (name.startsWith("pg_")) {
    throw new CheckpointerError(
      "INVALID_SCHEMA_NAME",
      `The schema name "${name}" starts with "pg_", which Postgres reserves for system schemas (pg_temp is also private to one connection). Pick another name.`,
    );
  }
  return quoted;
}

/** Fully qualified table names, in the official savers' `"schema".table` layout. */
export interface Tables {
  schema: string;
  migrations: string;
  checkpoints: string;
  blobs: string;
  writes: string;
  runs: string;
  receipts: string;
  archives: string;
  /** Inputs queued behind a busy thread (@agentstate/recovery's multitask "enqueue"). */
  runQueue: string;
}

export function tablesFor(schema: string): Tables {
  const s = quoteSchemaName(schema);
  return {
    schema: s,
    migrations: `${s}.checkpoint_migrations`,
    checkpoints: `${s}.checkpoints`,
    blobs: `${s}.checkpoint_blobs`,
    writes: `${s}.checkpoint_writes`,
    runs: `${s}.agentstate_runs`,
    receipts: `${s}.agentstate_receipts`,
    archives: `${s}.agentstate_archives`,
    runQueue: `${s}.agentstate_run_queue`,
  };
}

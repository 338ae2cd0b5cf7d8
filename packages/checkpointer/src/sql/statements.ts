import { readChainsSql } from "./chains.js";
import type { Tables } from "./identifiers.js";

/** `($k::text, $k+1::text, …)` rows for a multi-row VALUES list; casts make PGlite and pg agree on types. */
export function valuesRows(rowCount: number, types: readonly string[], firstParam: number): string {
  const rows: string[] = [];
  let p = firstParam;
  for (let r = 0; r < rowCount; r += 1) {
    rows.push(`(${types.map((t) => `$${p++}::${t}`).join(", ")})`);
  }
  return rows.join(", ");
}

/**
 * Lease piggyback. A put renews the run's lease (and records the new head) in the same statement
 * and proves the writer still holds the fence: a takeover can never be followed by a put of the
 * old owner. A task's writes only read the fence (no row lock, no WAL), so parallel tasks of one
 * step never queue on the ledger row. The price: a claim that commits while such a statement runs
 * can be followed by that one write of the old owner — a finished task's own result for the head
 * both owners share, which the new owner's re-run of the same task would write too.
 */
export function guardCte(
  t: Tables,
  fenceParam: number,
  leaseParam: number,
  headParam?: number,
): string {
  const live = `thread_id = $1 AND fence = $${fenceParam}::bigint AND status IN ('running', 'recovering')`;
  if (headParam === undefined) {
    return `guard AS (SELECT 1 FROM ${t.runs} WHERE ${live} AND $${leaseParam}::float8 IS NOT NULL)`;
  }
  return `guard AS (
    UPDATE ${t.runs} SET lease_until = now() + make_interval(secs => $${leaseParam}::float8),
      heartbeat_at = now(), updated_at = now(), head_checkpoint_id = $${headParam}
    WHERE ${live}
    RETURNING 1)`;
}

export const BLOB_TYPES = ["text", "text", "text", "bytea"] as const;

/**
 * One statement that stores a checkpoint and its new channel blobs: atomic without BEGIN/COMMIT.
 * $1 thread_id, $2 ns, $3 id, $4 parent id, $5 checkpoint json, $6 metadata json, then
 * optional guard params, then 4 params per blob.
 */
export function putSql(t: Tables, blobCount: number, guarded: boolean): string {
  const ctes: string[] = [];
  const onlyIfGuard = guarded ? "WHERE EXISTS (SELECT 1 FROM guard)" : "";
  let next = 7;
  if (guarded) {
    ctes.push(guardCte(t, 7, 8, 3));
    next = 9;
  }
  if (blobCount > 0) {
    ctes.push(`b AS (
      INSERT INTO ${t.blobs} (thread_id, checkpoint_ns, channel, version, type, blob)
      SELECT $1, $2, v.channel, v.version, v.type, v.blob
      FROM (VALUES ${valuesRows(blobCount, BLOB_TYPES, next)}) AS v(channel, version, type, blob)
      ${onlyIfGuard}
      ON CONFLICT (thread_id, checkpoint_ns, channel, version) DO NOTHING)`);
  }
  const upsert = `INSERT INTO ${t.checkpoints}
      (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata)
    SELECT $1, $2, $3, $4, $5::jsonb, $6::jsonb ${onlyIfGuard}
    ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id)
    DO UPDATE SET checkpoint = EXCLUDED.checkpoint, metadata = EXCLUDED.metadata`;
  if (!guarded) return ctes.length ? `WITH ${ctes.join(",\n")}\n${upsert}` : upsert;
  ctes.push(`c AS (${upsert} RETURNING 1)`);
  return `WITH ${ctes.join(",\n")}\nSELECT (SELECT count(*) FROM guard)::int AS ok`;
}

export const WRITE_TYPES = ["text", "integer", "text", "bytea"] as const;

/**
 * One statement for a task's writes. Special writes (negative idx) replace what is there;
 * regular writes keep the first one stored, as the checkpoint contract asks.
 * $1 thread_id, $2 ns, $3 checkpoint id, $4 task id, $5 task path, optional guard params,
 * then 4 params per write (channel, idx, type, blob) — special rows first.
 */
export function putWritesSql(
  t: Tables,
  specialCount: number,
  regularCount: number,
  guarded: boolean,
): string {
  const ctes: string[] = [];
  let next = 6;
  if (guarded) {
    ctes.push(guardCte(t, 6, 7));
    next = 8;
  }
  const onlyIfGuard = guarded ? "WHERE EXISTS (SELECT 1 FROM guard)" : "";
  const insert = (count: number, conflict: string) => {
    const sql = `INSERT INTO ${t.writes}
        (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, channel, idx, type, blob)
      SELECT $1, $2, $3, $4, $5, v.channel, v.idx, v.type, v.blob
      FROM (VALUES ${valuesRows(count, WRITE_TYPES, next)}) AS v(channel, idx, type, blob)
      ${onlyIfGuard}
      ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id, task_id, idx) ${conflict}`;
    next += count * 4;
    return sql;
  };
  if (specialCount > 0) {
    ctes.push(
      `s AS (${insert(specialCount, "DO UPDATE SET channel = EXCLUDED.channel, type = EXCLUDED.type, blob = EXCLUDED.blob, task_path = EXCLUDED.task_path")})`,
    );
  }
  if (regularCount > 0) ctes.push(`r AS (${insert(regularCount, "DO NOTHING")})`);
  const tail = guarded ? "SELECT (SELECT count(*) FROM guard)::int AS ok" : "SELECT 1 AS ok";
  return `WITH ${ctes.join(",\n")}\n${tail}`;
}

/**
 * The read path: checkpoint rows, the blobs their channel_versions name (probed by key,
 * so the cost does not grow with the thread), their pending writes, and the chain rows of
 * compact blobs (kind 3, see chains.ts), in one query.
 * `cpSql` selects CP_COLUMNS in `order`; checkpoint rows carry their rank in `idx`.
 * Pending writes come unordered: callers sort them by writesSortKey.
 */
export function readSql(t: Tables, cpSql: string, order: string): string {
  // LIMIT 1 / OFFSET 0 keep each lateral subquery a parameterized primary-key probe: without them
  // the planner flattens it into a join that reads every blob (or write) row of the thread.
  // No ORDER BY: checkpoint rows carry their rank, writes are sorted per checkpoint in code.
  const chains = readChainsSql(t);
  return `WITH cp AS (SELECT x.*, row_number() OVER (ORDER BY ${order}) AS ord FROM (${cpSql}) AS x),
  ${chains.cte}
  SELECT 0 AS kind, cp.thread_id, cp.checkpoint_ns, cp.checkpoint_id,
    cp.parent_checkpoint_id AS a, cp.checkpoint::text AS b, cp.metadata::text AS c,
    NULL::text AS d, NULL::bytea AS blob, cp.ord::int AS idx
  FROM cp
  UNION ALL
  SELECT 1, cp.thread_id, cp.checkpoint_ns, cp.checkpoint_id, bl.channel, bl.type, NULL, NULL, bl.blob, 0
  FROM cp
  CROSS JOIN LATERAL jsonb_each_text(cp.checkpoint -> 'channel_versions') AS v(key, value)
  CROSS JOIN LATERAL (
    SELECT b.channel, b.type, b.blob FROM ${t.blobs} b
    WHERE b.thread_id = cp.thread_id AND b.checkpoint_ns = cp.checkpoint_ns
      AND b.channel = v.key AND b.version = v.value
    LIMIT 1
  ) AS bl
  UNION ALL
  SELECT 2, cp.thread_id, cp.checkpoint_ns, cp.checkpoint_id, w.task_id, w.channel, w.type, w.task_path, w.blob, w.idx
  FROM cp
  CROSS JOIN LATERAL (
    SELECT * FROM ${t.writes} w
    WHERE w.thread_id = cp.thread_id AND w.checkpoint_ns = cp.checkpoint_ns AND w.checkpoint_id = cp.checkpoint_id
    OFFSET 0
  ) AS w
  UNION ALL
  ${chains.select}`;
}

export const CP_COLUMNS =
  "thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata";

/** Per-row column types of the combined statement's VALUES lists. */
const BATCH_BLOB = ["text", "text", "text", "text", "text", "bytea"] as const;
const BATCH_CP = ["text", "text", "text", "text", "jsonb", "jsonb"] as const;
const BATCH_WRITE = [
  "text",
  "text",
  "text",
  "text",
  "text",
  "text",
  "integer",
  "text",
  "bytea",
] as const;
export const BATCH_PARAMS = {
  blob: BATCH_BLOB.length,
  checkpoint: BATCH_CP.length,
  write: BATCH_WRITE.length,
};

/**
 * Several threads' puts and putWrites as ONE statement (group commit). Same conflict rules as the
 * single statements: blobs insert-if-absent, checkpoints and special writes upsert, regular
 * writes keep the first stored. Params: blobs, then checkpoints, then special, then regular rows.
 */
export function batchSql(
  t: Tables,
  blobs: number,
  checkpoints: number,
  special: number,
  regular: number,
): string {
  let next = 1;
  const values = (count: number, types: readonly string[]) => {
    const sql = valuesRows(count, types, next);
    next += count * types.length;
    return sql;
  };
  const ctes: string[] = [];
  if (blobs > 0) {
    ctes.push(`b AS (INSERT INTO ${t.blobs} (thread_id, checkpoint_ns, channel, version, type, blob)
      VALUES ${values(blobs, BATCH_BLOB)}
      ON CONFLICT (thread_id, checkpoint_ns, channel, version) DO NOTHING)`);
  }
  if (checkpoints > 0) {
    ctes.push(`c AS (INSERT INTO ${t.checkpoints}
        (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata)
      VALUES ${values(checkpoints, BATCH_CP)}
      ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id)
      DO UPDATE SET checkpoint = EXCLUDED.checkpoint, metadata = EXCLUDED.metadata)`);
  }
  const writes = (count: number, conflict: string) => `INSERT INTO ${t.writes}
      (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, channel, idx, type, blob)
    VALUES ${values(count, BATCH_WRITE)}
    ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id, task_id, idx) ${conflict}`;
  if (special > 0) {
    ctes.push(
      `s AS (${writes(special, "DO UPDATE SET channel = EXCLUDED.channel, type = EXCLUDED.type, blob = EXCLUDED.blob, task_path = EXCLUDED.task_path")})`,
    );
  }
  if (regular > 0) ctes.push(`r AS (${writes(regular, "DO NOTHING")})`);
  return `WITH ${ctes.join(",\n")}\nSELECT 1 AS ok`;
}

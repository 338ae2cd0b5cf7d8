// The read statements (getTuple's checkpoint row, a page with its blobs, writes and compact
// chains in one query, legacy pending sends) and the VALUES-list helper the writes share.
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

/** Kinds of the rows readWithSql adds to readSql's: the leading statement's, an archive's. */
export const PRE_ROW = 8;
export const ARCHIVED_ROW = 9;

/**
 * getTuple's read (`read`, a readSql text) after `pre`, another statement whose first result
 * column is `v`, in one statement: one round trip, one snapshot. Adds a kind-8 row per row of
 * `pre` (`v` as text in column `a`), and a kind-9 row when the thread ($1) has no checkpoint in
 * the read and was archived (the ARCHIVED probe getTuple makes otherwise).
 */
export function readWithSql(t: Tables, read: string, pre: string): string {
  if (!read.startsWith("WITH ")) throw new Error("readWithSql: expected a readSql statement");
  return `WITH pre AS (${pre}),
  ${read.slice("WITH ".length)}
  UNION ALL
  SELECT ${PRE_ROW}, NULL, NULL, NULL, pre.v::text, NULL, NULL, NULL, NULL::bytea, 0 FROM pre
  UNION ALL
  ${archivedRow(t)}`;
}

/**
 * getTuple's read (`read`, a readSql text) with the archive probe in the same statement: a
 * kind-9 row when the thread ($1) has no checkpoint in the read and was archived. A new thread's
 * first read is then one round trip, not two.
 */
export function readProbedSql(t: Tables, read: string): string {
  return `${read}
  UNION ALL
  ${archivedRow(t)}`;
}

/** The kind-9 row: no checkpoint read (`cp` is empty) and the thread ($1) was archived. */
const archivedRow = (
  t: Tables,
) => `SELECT ${ARCHIVED_ROW}, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL::bytea, 0
  WHERE NOT EXISTS (SELECT 1 FROM cp) AND EXISTS (
    SELECT 1 FROM ${t.archives} WHERE thread_id = $1 AND status = 'archived')`;

export const CP_COLUMNS =
  "thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata";

/** getTuple's checkpoint row: by id ($3), or the thread's latest in the namespace. */
export function checkpointSql(t: Tables, byId: boolean): string {
  const cp = `SELECT ${CP_COLUMNS} FROM ${t.checkpoints} WHERE thread_id = $1 AND checkpoint_ns = $2`;
  return byId ? `${cp} AND checkpoint_id = $3` : `${cp} ORDER BY checkpoint_id DESC LIMIT 1`;
}

/** A v<4 checkpoint's pending sends, stored as writes of its parent ($4: the TASKS channel). */
export function legacySendsSql(t: Tables): string {
  return `SELECT type, blob FROM ${t.writes}
    WHERE thread_id = $1 AND checkpoint_ns = $2 AND checkpoint_id = $3 AND channel = $4
    ORDER BY task_path COLLATE "C", task_id COLLATE "C", idx`;
}

// Read-only statements for inspect and the dashboard: receipts of a thread, threads by state,
// storage over time and the largest threads. Nothing here writes, migrates or locks.
import type { PostgresCheckpointer, Tables } from "@agentstate/checkpointer";

/** A receipt of a tool call's side effect (agentstate_receipts). */
export interface ReceiptRow {
  toolCallId: string;
  status: string;
  createdAt: Date;
  completedAt: Date | null;
  result: unknown;
}

export async function readReceipts(
  saver: PostgresCheckpointer,
  threadId: string,
): Promise<ReceiptRow[]> {
  const rows = await saver.run<Record<string, unknown>>(
    "readReceipts()",
    `SELECT tool_call_id, status, created_at, completed_at, result FROM ${saver.tables.receipts}
     WHERE thread_id = $1 ORDER BY created_at, tool_call_id`,
    [threadId],
  );
  return rows.map((r) => ({
    toolCallId: String(r.tool_call_id),
    status: String(r.status),
    createdAt: new Date(r.created_at as string),
    completedAt: r.completed_at ? new Date(r.completed_at as string) : null,
    result: r.result ?? null,
  }));
}

/**
 * The dashboard's state of a thread from the ledger alone: a running row whose lease lapsed is
 * `crashed`; no row is `untracked` (plain invokes: only the graph can classify those).
 */
const STATE_SQL = `CASE
  WHEN r.thread_id IS NULL THEN 'untracked'
  WHEN r.status IN ('running', 'recovering') AND r.lease_until > now() THEN 'running'
  WHEN r.status IN ('running', 'recovering', 'crashed') THEN 'crashed'
  ELSE r.status END`;

/** The groups the dashboard shows, in order (other ledger statuses are shown as they come). */
export const DASHBOARD_STATES = [
  "running",
  "waiting",
  "crashed",
  "failed",
  "drained",
  "dead",
  "completed",
  "untracked",
] as const;

const threadsSql = (t: Tables) => `WITH c AS (
    SELECT thread_id, max(created_at) AS last_at, count(*)::int AS n FROM ${t.checkpoints}
    GROUP BY thread_id)
  SELECT coalesce(c.thread_id, r.thread_id) AS thread_id, ${STATE_SQL} AS state,
    c.last_at, coalesce(c.n, 0) AS checkpoints, r.status, r.attempts, r.owner, r.last_error,
    r.lease_until, r.updated_at
  FROM c FULL JOIN ${t.runs} r ON r.thread_id = c.thread_id`;

export async function threadCounts(saver: PostgresCheckpointer): Promise<Record<string, number>> {
  const rows = await saver.run<{ state: string; n: number }>(
    "threadCounts()",
    `SELECT state, count(*)::int AS n FROM (${threadsSql(saver.tables)}) x GROUP BY state`,
  );
  const counts: Record<string, number> = Object.fromEntries(DASHBOARD_STATES.map((s) => [s, 0]));
  for (const r of rows) counts[r.state] = Number(r.n);
  return counts;
}

export interface ThreadRow {
  threadId: string;
  state: string;
  lastActivityAt: Date | null;
  checkpoints: number;
  ledgerStatus: string | null;
  attempts: number;
  owner: string | null;
  lastError: string | null;
}

/** Threads, most recently active first, optionally only those in the given dashboard states. */
export async function threadsByState(
  saver: PostgresCheckpointer,
  states: string[] | null,
  limit: number,
): Promise<ThreadRow[]> {
  const rows = await saver.run<Record<string, unknown>>(
    "threadsByState()",
    `SELECT * FROM (${threadsSql(saver.tables)}) x WHERE ($1::text[] IS NULL OR state = ANY($1))
     ORDER BY coalesce(last_at, updated_at) DESC NULLS LAST, thread_id LIMIT $2`,
    [states, limit],
  );
  return rows.map((r) => ({
    threadId: String(r.thread_id),
    state: String(r.state),
    lastActivityAt: r.last_at ? new Date(r.last_at as string) : null,
    checkpoints: Number(r.checkpoints),
    ledgerStatus: (r.status as string | null) ?? null,
    attempts: Number(r.attempts ?? 0),
    owner: (r.owner as string | null) ?? null,
    lastError: (r.last_error as string | null) ?? null,
  }));
}

export interface StorageBucket {
  at: Date;
  checkpoints: number;
  /** Checkpoint rows plus the blobs each one introduced (channel versions its parent lacked). */
  bytes: number;
}

/**
 * Checkpoints and stored bytes per minute/hour/day over the last `days` days. A blob is counted
 * once, with the checkpoint whose channel version introduced it (a primary-key lookup per
 * changed channel); the bucket size follows the span of the data.
 */
export async function storageOverTime(
  saver: PostgresCheckpointer,
  days: number,
): Promise<{ unit: "minute" | "hour" | "day"; buckets: StorageBucket[] }> {
  const t = saver.tables;
  const [span] = await saver.run<{ secs: number | null }>(
    "storageSpan()",
    `SELECT extract(epoch FROM max(created_at) - min(created_at))::float8 AS secs
     FROM ${t.checkpoints} WHERE created_at >= now() - make_interval(days => $1::int)`,
    [days],
  );
  const secs = Number(span?.secs ?? 0);
  const unit = secs <= 2 * 3600 ? "minute" : secs <= 2 * 86400 ? "hour" : "day";
  const rows = await saver.run<{ at: string; n: number; bytes: number }>(
    "storageOverTime()",
    `SELECT date_trunc($2, c.created_at) AS at, count(*)::int AS n,
       sum(pg_column_size(c.checkpoint) + pg_column_size(c.metadata) + coalesce(nb.bytes, 0))::float8 AS bytes
     FROM ${t.checkpoints} c
     LEFT JOIN ${t.checkpoints} p ON p.thread_id = c.thread_id AND p.checkpoint_ns = c.checkpoint_ns
       AND p.checkpoint_id = c.parent_checkpoint_id
     LEFT JOIN LATERAL (
       SELECT sum(pg_column_size(b.blob)) AS bytes
       FROM jsonb_each_text(c.checkpoint->'channel_versions') v
       JOIN ${t.blobs} b ON b.thread_id = c.thread_id AND b.checkpoint_ns = c.checkpoint_ns
         AND b.channel = v.key AND b.version = v.value
       WHERE v.value IS DISTINCT FROM p.checkpoint->'channel_versions'->>v.key) nb ON true
     WHERE c.created_at >= now() - make_interval(days => $1::int)
     GROUP BY 1 ORDER BY 1`,
    [days, unit],
  );
  return {
    unit,
    buckets: rows.map((r) => ({
      at: new Date(r.at),
      checkpoints: Number(r.n),
      bytes: Number(r.bytes),
    })),
  };
}

export interface ThreadSize {
  threadId: string;
  checkpoints: number;
  bytes: number;
}

/** Threads by stored size (checkpoint rows, blobs and pending writes; reads every row's size). */
export async function largestThreads(
  saver: PostgresCheckpointer,
  limit: number,
): Promise<ThreadSize[]> {
  const t = saver.tables;
  const rows = await saver.run<{ thread_id: string; n: number; bytes: number }>(
    "largestThreads()",
    `SELECT thread_id, sum(n)::int AS n, sum(bytes)::float8 AS bytes FROM (
       SELECT thread_id, count(*) AS n,
         sum(pg_column_size(checkpoint) + pg_column_size(metadata)) AS bytes
       FROM ${t.checkpoints} GROUP BY thread_id
       UNION ALL SELECT thread_id, 0, sum(coalesce(pg_column_size(blob), 0)) FROM ${t.blobs} GROUP BY thread_id
       UNION ALL SELECT thread_id, 0, sum(pg_column_size(blob)) FROM ${t.writes} GROUP BY thread_id
     ) x GROUP BY thread_id ORDER BY bytes DESC, thread_id LIMIT $1`,
    [limit],
  );
  return rows.map((r) => ({
    threadId: r.thread_id,
    checkpoints: Number(r.n),
    bytes: Number(r.bytes),
  }));
}

// Read-only statements over the checkpointer's own tables for recovery's views: storage over
// time and the largest threads (dashboard), archived threads (`agentstate threads`). The
// ledger's views are in ledger/reads.ts. Nothing here writes or locks.
import type { DbSeam } from "@agentstate/checkpointer";

/** Threads that live only in the cold tier (archive index rows with status `archived`). */
export async function archivedThreadCount(db: DbSeam): Promise<number> {
  const [row] = await db.run<{ n: number }>(
    "archivedThreadCount()",
    `SELECT count(*)::int AS n FROM ${db.tables.archives} WHERE status = 'archived'`,
  );
  return Number(row?.n ?? 0);
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
  db: DbSeam,
  days: number,
): Promise<{ unit: "minute" | "hour" | "day"; buckets: StorageBucket[] }> {
  const t = db.tables;
  const [span] = await db.run<{ secs: number | null }>(
    "storageSpan()",
    `SELECT extract(epoch FROM max(created_at) - min(created_at))::float8 AS secs
     FROM ${t.checkpoints} WHERE created_at >= now() - make_interval(days => $1::int)`,
    [days],
  );
  const secs = Number(span?.secs ?? 0);
  const unit = secs <= 2 * 3600 ? "minute" : secs <= 2 * 86400 ? "hour" : "day";
  const rows = await db.run<{ at: string; n: number; bytes: number }>(
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
export async function largestThreads(db: DbSeam, limit: number): Promise<ThreadSize[]> {
  const t = db.tables;
  const rows = await db.run<{ thread_id: string; n: number; bytes: number }>(
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

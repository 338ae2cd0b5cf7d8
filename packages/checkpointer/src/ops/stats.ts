// Totals for `agentstate stats` and the gauges: hot (in Postgres) and archived (cold tier).
import type { PostgresCheckpointer } from "../saver.js";

export interface CheckpointStats {
  totalCheckpoints: number;
  /** Threads with checkpoints in Postgres (hot). */
  uniqueThreads: number;
  /** Threads moved to the cold tier and not restored (see `archive` in @agentstate/recovery). */
  archivedThreads: number;
  /** Size of their archive files (compressed). */
  archivedBytes: number;
  oldestCheckpointAt: Date | null;
  newestCheckpointAt: Date | null;
  /** Estimated from the planner's statistics: exact counts would scan these tables. */
  approximateBlobs: number;
  approximateWrites: number;
  /** On-disk size including indexes and TOAST, per table. */
  bytes: {
    checkpoints: number;
    checkpoint_blobs: number;
    checkpoint_writes: number;
    total: number;
  };
}

/** Totals, time range and sizes; exact counts come from checkpoint indexes, never from blobs. */
export async function getCheckpointStats(saver: PostgresCheckpointer): Promise<CheckpointStats> {
  const t = saver.tables;
  const [row] = await saver.run<Record<string, string | number | Date | null>>(
    "getCheckpointStats()",
    `SELECT
      (SELECT count(*) FROM ${t.checkpoints})::float8 AS total,
      (SELECT count(*) FROM (SELECT DISTINCT thread_id FROM ${t.checkpoints}) d)::float8 AS threads,
      (SELECT min(created_at) FROM ${t.checkpoints}) AS oldest,
      (SELECT max(created_at) FROM ${t.checkpoints}) AS newest,
      (SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = to_regclass($1))::float8 AS blobs,
      (SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = to_regclass($2))::float8 AS writes,
      pg_total_relation_size(to_regclass($3))::float8 AS cp_bytes,
      pg_total_relation_size(to_regclass($1))::float8 AS blob_bytes,
      pg_total_relation_size(to_regclass($2))::float8 AS write_bytes,
      (SELECT count(*) FROM ${t.archives} WHERE status = 'archived')::float8 AS archived,
      (SELECT coalesce(sum(bytes), 0) FROM ${t.archives} WHERE status = 'archived')::float8 AS archived_bytes`,
    [t.blobs, t.writes, t.checkpoints],
  );
  const n = (k: string) => Number(row?.[k] ?? 0);
  const d = (k: string) => (row?.[k] ? new Date(row[k] as string) : null);
  return {
    totalCheckpoints: n("total"),
    uniqueThreads: n("threads"),
    archivedThreads: n("archived"),
    archivedBytes: n("archived_bytes"),
    oldestCheckpointAt: d("oldest"),
    newestCheckpointAt: d("newest"),
    approximateBlobs: n("blobs"),
    approximateWrites: n("writes"),
    bytes: {
      checkpoints: n("cp_bytes"),
      checkpoint_blobs: n("blob_bytes"),
      checkpoint_writes: n("write_bytes"),
      total: n("cp_bytes") + n("blob_bytes") + n("write_bytes"),
    },
  };
}

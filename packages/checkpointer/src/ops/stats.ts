// Totals for `agentstate stats` and the gauges: hot (in Postgres) and archived (cold tier).
import type { DbSeam } from "../seam.js";

/**
 * Up to this many blob/write rows are counted exactly (a bounded scan); above it the planner's
 * estimate is used. The estimate alone is -1 or 0 on tables never analyzed (fresh or small ones).
 */
export const EXACT_COUNT_LIMIT = 10_000;

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
  /**
   * Exact up to {@link EXACT_COUNT_LIMIT} rows (counted with a bounded scan); above that the
   * planner's estimate (`pg_class.reltuples`, at least the limit + 1): a full count would scan
   * the table.
   */
  approximateBlobs: number;
  /** Like `approximateBlobs`, for pending writes. */
  approximateWrites: number;
  /** On-disk size including indexes and TOAST, per table. */
  bytes: {
    checkpoints: number;
    checkpoint_blobs: number;
    checkpoint_writes: number;
    total: number;
  };
}

/** Exact row count up to the limit (a LIMIT-ed scan), else the estimate, never below limit + 1. */
function bounded(table: string, regclassParam: string): string {
  return `(SELECT CASE WHEN b.n <= ${EXACT_COUNT_LIMIT} THEN b.n
      ELSE greatest(b.n, (SELECT reltuples FROM pg_class WHERE oid = to_regclass(${regclassParam}))) END
    FROM (SELECT count(*)::float8 AS n FROM (SELECT 1 FROM ${table} LIMIT ${EXACT_COUNT_LIMIT + 1}) l) b)`;
}

/** Totals, time range and sizes; blob and write counts are exact only up to EXACT_COUNT_LIMIT. */
export async function getCheckpointStats(db: DbSeam): Promise<CheckpointStats> {
  const t = db.tables;
  const [row] = await db.run<Record<string, string | number | Date | null>>(
    "getCheckpointStats()",
    `SELECT
      (SELECT count(*) FROM ${t.checkpoints})::float8 AS total,
      (SELECT count(*) FROM (SELECT DISTINCT thread_id FROM ${t.checkpoints}) d)::float8 AS threads,
      (SELECT min(created_at) FROM ${t.checkpoints}) AS oldest,
      (SELECT max(created_at) FROM ${t.checkpoints}) AS newest,
      ${bounded(t.blobs, "$1")} AS blobs,
      ${bounded(t.writes, "$2")} AS writes,
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

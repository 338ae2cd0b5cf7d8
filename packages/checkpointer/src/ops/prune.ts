// Retention: prune() deletes whole threads idle longer than a cutoff and trims old checkpoints
// of the rest, in batches, keeping every row a kept checkpoint still references.
import { APPEND_TYPE_SQL } from "../compact/format.js";
import { CheckpointerError } from "../errors.js";
import type { DbSeam } from "../seam.js";
import type { Tables } from "../sql/identifiers.js";
import { listThreads } from "./threads.js";

export interface PruneOptions {
  /** Keep the newest N checkpoints of each namespace of each thread (and what they reference). */
  keepLatest?: number;
  /** Delete whole threads whose last checkpoint is older than this (TTL by last activity). */
  olderThan?: Date;
  /** Limit pruning to these threads. */
  threadIds?: string[];
  /** Count what would go, delete nothing. @default false */
  dryRun?: boolean;
  /** Threads per statement; each statement is its own short transaction. @default 100 */
  batchSize?: number;
  /** Called after each batch, for progress output. */
  onProgress?: (progress: PruneResult) => void;
}

export interface PruneResult {
  dryRun: boolean;
  threadsScanned: number;
  threadsDeleted: number;
  checkpointsDeleted: number;
  writesDeleted: number;
  blobsDeleted: number;
}

/**
 * Retention. Works a batch of threads at a time, each batch a couple of short statements, so a
 * writer is never blocked for long. A kept checkpoint keeps the ancestors a DeltaChannel needs to
 * rebuild its value (back to the nearest stored snapshot), and blobs go only once no remaining
 * checkpoint names them, nor any row a named compact row builds on.
 */
export async function prune(db: DbSeam, options: PruneOptions): Promise<PruneResult> {
  const { keepLatest, olderThan, dryRun = false, batchSize = 100 } = options;
  if (keepLatest === undefined && olderThan === undefined) {
    throw new CheckpointerError(
      "INVALID_ARGUMENT",
      "prune(): give keepLatest, olderThan, or both.",
    );
  }
  if (keepLatest !== undefined && (!Number.isInteger(keepLatest) || keepLatest < 1)) {
    throw new CheckpointerError(
      "INVALID_ARGUMENT",
      `prune(): keepLatest must be an integer ≥ 1, got ${keepLatest}.`,
    );
  }
  if (olderThan !== undefined && Number.isNaN(olderThan.getTime?.())) {
    throw new CheckpointerError("INVALID_ARGUMENT", "prune(): olderThan must be a valid Date.");
  }
  const result: PruneResult = {
    dryRun,
    threadsScanned: 0,
    threadsDeleted: 0,
    checkpointsDeleted: 0,
    writesDeleted: 0,
    blobsDeleted: 0,
  };
  for await (const batch of threadBatches(db, options.threadIds, batchSize)) {
    result.threadsScanned += batch.length;
    let rest = batch;
    if (olderThan) {
      const expired = await expireThreads(db, batch, olderThan, dryRun);
      add(result, expired.counts);
      result.threadsDeleted += expired.threads.length;
      const gone = new Set(expired.threads);
      rest = batch.filter((id) => !gone.has(id));
    }
    if (keepLatest !== undefined && rest.length > 0) {
      add(result, await trimThreads(db, rest, keepLatest, dryRun));
    }
    options.onProgress?.({ ...result });
  }
  return result;
}

type Counts = Pick<PruneResult, "checkpointsDeleted" | "writesDeleted" | "blobsDeleted">;

function add(into: PruneResult, c: Counts) {
  into.checkpointsDeleted += c.checkpointsDeleted;
  into.writesDeleted += c.writesDeleted;
  into.blobsDeleted += c.blobsDeleted;
}

async function* threadBatches(db: DbSeam, ids: string[] | undefined, size: number) {
  if (ids) {
    for (let i = 0; i < ids.length; i += size) yield ids.slice(i, i + size);
    return;
  }
  let after: string | undefined;
  do {
    const page = await listThreads(db, { limit: size, after });
    if (page.threads.length) yield page.threads.map((t) => t.threadId);
    after = page.nextCursor;
  } while (after);
}

async function expireThreads(db: DbSeam, batch: string[], olderThan: Date, dryRun: boolean) {
  const t = db.tables;
  const expired = `expired AS (SELECT thread_id FROM ${t.checkpoints} WHERE thread_id = ANY($1::text[])
    GROUP BY thread_id HAVING max(created_at) < $2)`;
  const sql = dryRun
    ? `WITH ${expired}
       SELECT ARRAY(SELECT thread_id FROM expired) AS threads,
        (SELECT count(*) FROM ${t.checkpoints} WHERE thread_id IN (SELECT thread_id FROM expired))::int AS c,
        (SELECT count(*) FROM ${t.writes} WHERE thread_id IN (SELECT thread_id FROM expired))::int AS w,
        (SELECT count(*) FROM ${t.blobs} WHERE thread_id IN (SELECT thread_id FROM expired))::int AS b`
    : `WITH ${expired},
        dc AS (DELETE FROM ${t.checkpoints} WHERE thread_id IN (SELECT thread_id FROM expired) RETURNING 1),
        dw AS (DELETE FROM ${t.writes} WHERE thread_id IN (SELECT thread_id FROM expired) RETURNING 1),
        db AS (DELETE FROM ${t.blobs} WHERE thread_id IN (SELECT thread_id FROM expired) RETURNING 1),
        dr AS (DELETE FROM ${t.runs} WHERE thread_id IN (SELECT thread_id FROM expired)),
        de AS (DELETE FROM ${t.receipts} WHERE thread_id IN (SELECT thread_id FROM expired))
       SELECT ARRAY(SELECT thread_id FROM expired) AS threads, (SELECT count(*) FROM dc)::int AS c,
        (SELECT count(*) FROM dw)::int AS w, (SELECT count(*) FROM db)::int AS b`;
  const [row] = await db.run<{ threads: string[]; c: number; w: number; b: number }>(
    "prune()",
    sql,
    [batch, olderThan],
  );
  return {
    threads: row?.threads ?? [],
    counts: {
      checkpointsDeleted: row?.c ?? 0,
      writesDeleted: row?.w ?? 0,
      blobsDeleted: row?.b ?? 0,
    },
  };
}

/** Checkpoints beyond the newest N of each (thread, ns), minus the ancestors a DeltaChannel still needs. */
function doomedCte(t: Tables): string {
  return `RECURSIVE ranked AS (
      SELECT thread_id, checkpoint_ns, checkpoint_id,
        row_number() OVER (PARTITION BY thread_id, checkpoint_ns ORDER BY checkpoint_id DESC) AS rn
      FROM ${t.checkpoints} WHERE thread_id = ANY($1::text[])
    ), chain AS (
      SELECT c.thread_id, c.checkpoint_ns, c.checkpoint_id, c.parent_checkpoint_id,
        c.checkpoint -> 'channel_versions' AS cv,
        ARRAY(SELECT jsonb_object_keys(CASE jsonb_typeof(c.metadata -> 'counters_since_delta_snapshot')
          WHEN 'object' THEN c.metadata -> 'counters_since_delta_snapshot' ELSE '{}'::jsonb END)) AS wanted
      FROM ranked r JOIN ${t.checkpoints} c USING (thread_id, checkpoint_ns, checkpoint_id)
      WHERE r.rn <= $2
      UNION
      SELECT p.thread_id, p.checkpoint_ns, p.checkpoint_id, p.parent_checkpoint_id,
        p.checkpoint -> 'channel_versions', nxt.wanted
      FROM chain
      CROSS JOIN LATERAL (SELECT ARRAY(
        SELECT w FROM unnest(chain.wanted) AS w WHERE NOT EXISTS (
          SELECT 1 FROM ${t.blobs} b WHERE b.thread_id = chain.thread_id AND b.checkpoint_ns = chain.checkpoint_ns
            AND b.channel = w AND b.version = chain.cv ->> w AND b.type <> 'empty'))
      AS wanted) AS nxt
      JOIN ${t.checkpoints} p ON p.thread_id = chain.thread_id AND p.checkpoint_ns = chain.checkpoint_ns
        AND p.checkpoint_id = chain.parent_checkpoint_id
      WHERE cardinality(nxt.wanted) > 0
    ), doomed AS (
      SELECT r.thread_id, r.checkpoint_ns, r.checkpoint_id FROM ranked r
      WHERE r.rn > $2 AND NOT EXISTS (SELECT 1 FROM chain k WHERE k.thread_id = r.thread_id
        AND k.checkpoint_ns = r.checkpoint_ns AND k.checkpoint_id = r.checkpoint_id)
    )`;
}

/**
 * `bases`: every row a referenced compact row builds on, transitively (storage: "compact"). The
 * base version is read from the row's header (`\0as1 <keep> <suffix> <length> <base>\n`, see
 * compact/format.ts); threads without compact rows start no recursion.
 */
function basesCte(t: Tables): string {
  const base = (blob: string) => {
    const h = `split_part(encode(substring(${blob} from 6 for 300), 'escape'), E'\\n', 1)`;
    const skip = [1, 2, 3].map((i) => `length(split_part(${h}, ' ', ${i}))`).join(" + ");
    return `substr(${h}, ${skip} + 4)`;
  };
  return `bases AS (
      SELECT b.thread_id, b.checkpoint_ns, b.channel, ${base("b.blob")} AS version
      FROM referenced r JOIN ${t.blobs} b ON b.thread_id = r.thread_id AND b.checkpoint_ns = r.checkpoint_ns
        AND b.channel = r.channel AND b.version = r.version
      WHERE b.type LIKE ${APPEND_TYPE_SQL}
      UNION
      SELECT p.thread_id, p.checkpoint_ns, p.channel, ${base("p.blob")}
      FROM bases k JOIN ${t.blobs} p ON p.thread_id = k.thread_id AND p.checkpoint_ns = k.checkpoint_ns
        AND p.channel = k.channel AND p.version = k.version
      WHERE p.type LIKE ${APPEND_TYPE_SQL})`;
}

async function trimThreads(
  db: DbSeam,
  batch: string[],
  keep: number,
  dryRun: boolean,
): Promise<Counts> {
  const t = db.tables;
  const doomed = doomedCte(t);
  const writesOf = `${t.writes} w WHERE EXISTS (SELECT 1 FROM doomed d WHERE d.thread_id = w.thread_id
      AND d.checkpoint_ns = w.checkpoint_ns AND d.checkpoint_id = w.checkpoint_id)`;
  const sql = dryRun
    ? `WITH ${doomed} SELECT (SELECT count(*) FROM doomed)::int AS c, (SELECT count(*) FROM ${writesOf})::int AS w`
    : `WITH ${doomed},
        dw AS (DELETE FROM ${writesOf} RETURNING 1),
        dc AS (DELETE FROM ${t.checkpoints} c USING doomed d WHERE c.thread_id = d.thread_id
          AND c.checkpoint_ns = d.checkpoint_ns AND c.checkpoint_id = d.checkpoint_id RETURNING 1)
       SELECT (SELECT count(*) FROM dc)::int AS c, (SELECT count(*) FROM dw)::int AS w`;
  const [row] = await db.run<{ c: number; w: number }>("prune()", sql, [batch, keep]);
  // Blobs in a second statement: it must see the checkpoints that the first one removed as gone.
  // In a dry run nothing was removed, so count against what would remain.
  const remaining = dryRun
    ? `SELECT thread_id, checkpoint_ns, checkpoint FROM ${t.checkpoints} c WHERE thread_id = ANY($1::text[])
        AND NOT EXISTS (SELECT 1 FROM doomed d WHERE d.thread_id = c.thread_id AND d.checkpoint_ns = c.checkpoint_ns
        AND d.checkpoint_id = c.checkpoint_id)`
    : `SELECT thread_id, checkpoint_ns, checkpoint FROM ${t.checkpoints} WHERE thread_id = ANY($1::text[])`;
  const orphans = `${t.blobs} b WHERE b.thread_id = ANY($1::text[]) AND NOT EXISTS (
      SELECT 1 FROM referenced r WHERE r.thread_id = b.thread_id AND r.checkpoint_ns = b.checkpoint_ns
        AND r.channel = b.channel AND r.version = b.version) AND NOT EXISTS (
      SELECT 1 FROM bases k WHERE k.thread_id = b.thread_id AND k.checkpoint_ns = b.checkpoint_ns
        AND k.channel = b.channel AND k.version = b.version)`;
  const blobSql = `WITH ${dryRun ? `${doomed}, ` : "RECURSIVE "}referenced AS (
      SELECT DISTINCT k.thread_id, k.checkpoint_ns, v.key AS channel, v.value AS version
      FROM (${remaining}) k CROSS JOIN LATERAL jsonb_each_text(k.checkpoint -> 'channel_versions') v),
    ${basesCte(t)}
    ${dryRun ? `SELECT count(*)::int AS b FROM ${orphans}` : `, gone AS (DELETE FROM ${orphans} RETURNING 1) SELECT count(*)::int AS b FROM gone`}`;
  const [blobs] = await db.run<{ b: number }>("prune()", blobSql, dryRun ? [batch, keep] : [batch]);
  return {
    checkpointsDeleted: row?.c ?? 0,
    writesDeleted: row?.w ?? 0,
    blobsDeleted: blobs?.b ?? 0,
  };
}

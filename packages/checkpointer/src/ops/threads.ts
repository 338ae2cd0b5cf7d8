// Thread-level operations: delete, copy (fork a thread under a new id) and the paged listing of
// threads by last activity.
import { CheckpointerError } from "../errors.js";
import type { DbSeam } from "../seam.js";

/**
 * Deletes a thread's checkpoints, blobs, writes, run ledger row, receipts and archive-index row
 * in one statement (an archive file in the cold tier is left where it is).
 */
export async function deleteThread(db: DbSeam, threadId: string): Promise<void> {
  const t = db.tables;
  await db.run(
    "deleteThread()",
    `WITH b AS (DELETE FROM ${t.blobs} WHERE thread_id = $1),
      w AS (DELETE FROM ${t.writes} WHERE thread_id = $1),
      r AS (DELETE FROM ${t.runs} WHERE thread_id = $1),
      e AS (DELETE FROM ${t.receipts} WHERE thread_id = $1),
      a AS (DELETE FROM ${t.archives} WHERE thread_id = $1)
    DELETE FROM ${t.checkpoints} WHERE thread_id = $1`,
    [threadId],
  );
}

/** Copies a thread under a new id (checkpoints, blobs, writes), atomically; the target must be new. */
export async function copyThread(db: DbSeam, source: string, target: string): Promise<number> {
  if (source === target) {
    throw new CheckpointerError(
      "INVALID_ARGUMENT",
      "copyThread(): source and target thread ids are the same.",
    );
  }
  const t = db.tables;
  const rows = await db.run<{ taken: boolean; copied: number }>(
    "copyThread()",
    `WITH taken AS (SELECT EXISTS (SELECT 1 FROM ${t.checkpoints} WHERE thread_id = $2) AS taken),
      b AS (INSERT INTO ${t.blobs} (thread_id, checkpoint_ns, channel, version, type, blob)
        SELECT $2, checkpoint_ns, channel, version, type, blob FROM ${t.blobs}
        WHERE thread_id = $1 AND NOT (SELECT taken FROM taken)),
      w AS (INSERT INTO ${t.writes} (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, blob)
        SELECT $2, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, blob FROM ${t.writes}
        WHERE thread_id = $1 AND NOT (SELECT taken FROM taken)),
      c AS (INSERT INTO ${t.checkpoints} (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata, created_at)
        SELECT $2, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata, created_at FROM ${t.checkpoints}
        WHERE thread_id = $1 AND NOT (SELECT taken FROM taken) RETURNING 1)
    SELECT (SELECT taken FROM taken) AS taken, (SELECT count(*) FROM c)::int AS copied`,
    [source, target],
  );
  if (rows[0]?.taken) {
    throw new CheckpointerError(
      "THREAD_EXISTS",
      `copyThread(): thread "${target}" already has checkpoints; delete it first or pick a new id.`,
    );
  }
  return rows[0]?.copied ?? 0;
}

export interface ThreadSummary {
  threadId: string;
  lastActivityAt: Date;
  checkpointCount: number;
}

export interface ListThreadsOptions {
  /** Page size. @default 100 */
  limit?: number;
  /** Keyset cursor: the `nextCursor` of the previous page (thread id order only). */
  after?: string;
  /** Only threads whose last checkpoint is older than this. */
  inactiveSince?: Date;
  /** "threadId" pages by keyset; "lastActivity" returns the most recently active first. @default "threadId" */
  orderBy?: "threadId" | "lastActivity";
}

export interface ThreadPage {
  threads: ThreadSummary[];
  /** Pass as `after` to get the next page; undefined on the last page. */
  nextCursor?: string;
}

/** Threads with their last activity and checkpoint count; reads only the (thread_id, created_at) index. */
export async function listThreads(
  db: DbSeam,
  options: ListThreadsOptions = {},
): Promise<ThreadPage> {
  const limit = options.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new CheckpointerError(
      "INVALID_ARGUMENT",
      `listThreads(): limit must be a positive integer, got ${limit}.`,
    );
  }
  const byActivity = options.orderBy === "lastActivity";
  const rows = await db.run<{ thread_id: string; last_activity: Date; n: number }>(
    "listThreads()",
    `SELECT thread_id, max(created_at) AS last_activity, count(*)::int AS n
     FROM ${db.tables.checkpoints}
     WHERE ($1::text IS NULL OR thread_id > $1)
     GROUP BY thread_id
     HAVING ($2::timestamptz IS NULL OR max(created_at) < $2)
     ORDER BY ${byActivity ? "last_activity DESC, thread_id" : "thread_id"}
     LIMIT ${limit + 1}`,
    [byActivity ? null : (options.after ?? null), options.inactiveSince ?? null],
  );
  const page = rows.slice(0, limit).map((r) => ({
    threadId: r.thread_id,
    lastActivityAt: new Date(r.last_activity),
    checkpointCount: Number(r.n),
  }));
  const more = rows.length > limit && !byActivity;
  return { threads: page, nextCursor: more ? page.at(-1)?.threadId : undefined };
}

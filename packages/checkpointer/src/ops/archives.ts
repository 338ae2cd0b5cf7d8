// The archive index (agentstate_archives): which threads were moved to the cold tier, where, and
// with what checksum. Every statement on that table lives here.
import type { Queryable } from "../db.js";
import { CheckpointerError, SQLSTATE } from "../errors.js";
import type { DbSeam } from "../seam.js";
import type { Tables } from "../sql/identifiers.js";

export type ArchiveStatus = "archived" | "restored";

/** One row of the archive index. */
export interface ArchiveRecord {
  threadId: string;
  /** "archived": the thread lives only in the file; "restored": it is back in Postgres. */
  status: ArchiveStatus;
  /** The archive location as given (`s3://bucket/prefix`, `azure://container/prefix`, `file:///dir`). */
  location: string;
  /** The file's key under `location`. */
  objectKey: string;
  /** Size of the stored (compressed) file. */
  bytes: number;
  /** sha256 (hex) of the stored file. */
  sha256: string;
  formatVersion: number;
  /** Rows per table in the file. */
  counts: Record<string, number>;
  archivedAt: Date;
  restoredAt: Date | null;
}

type Row = Record<string, unknown>;

const COLUMNS = `thread_id, status, location, object_key, bytes::float8 AS bytes, sha256, format_version,
  counts, archived_at, restored_at`;

function toRecord(r: Row): ArchiveRecord {
  return {
    threadId: r.thread_id as string,
    status: r.status as ArchiveStatus,
    location: r.location as string,
    objectKey: r.object_key as string,
    bytes: Number(r.bytes),
    sha256: r.sha256 as string,
    formatVersion: Number(r.format_version),
    counts: (r.counts as Record<string, number>) ?? {},
    archivedAt: new Date(r.archived_at as string),
    restoredAt: r.restored_at ? new Date(r.restored_at as string) : null,
  };
}

/**
 * getTuple's probe when a thread has no checkpoint: one primary-key lookup. A schema from before
 * the archive index (no table yet) simply has no archived threads.
 */
export async function archivedThread(
  db: DbSeam,
  threadId: string,
): Promise<ArchiveRecord | undefined> {
  try {
    const rows = await db.run<Row>(
      "getTuple()",
      `SELECT ${COLUMNS} FROM ${db.tables.archives} WHERE thread_id = $1 AND status = 'archived'`,
      [threadId],
    );
    return rows[0] ? toRecord(rows[0]) : undefined;
  } catch (error) {
    const state = (error as { cause?: { code?: string } }).cause?.code;
    if (state === SQLSTATE.UNDEFINED_TABLE) return undefined;
    throw error;
  }
}

/** The ARCHIVED error a read of an archived thread raises: where it is and how to get it back. */
export function archivedError(record: ArchiveRecord, operation = "getTuple"): CheckpointerError {
  const id = JSON.stringify(record.threadId);
  return new CheckpointerError(
    "ARCHIVED",
    `Thread ${id} was archived to ${record.location} on ${record.archivedAt.toISOString()}: its checkpoints are no longer in Postgres. ` +
      `Restore it with \`agentstate restore ${shellQuote(record.threadId)}\` (or restore() from @agentstate/recovery), then retry. ` +
      `To start the thread afresh instead, deleteThread(${id}) forgets the archive (the file stays at ${record.location}).`,
    { operation },
  );
}

/** A thread id as one shell word, so the suggested command can be pasted even for odd ids. */
function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

/** Index rows of these threads (any status). */
export async function readArchiveRecords(
  q: Queryable,
  t: Tables,
  threadIds: string[],
): Promise<Map<string, ArchiveRecord>> {
  const { rows } = await q.query<Row>(
    `SELECT ${COLUMNS} FROM ${t.archives} WHERE thread_id = ANY($1::text[])`,
    [threadIds],
  );
  return new Map(rows.map((r) => [r.thread_id as string, toRecord(r)]));
}

export interface ListArchivesOptions {
  /** @default 100 */
  limit?: number;
  /** Keyset cursor: the previous page's `nextCursor`. */
  after?: string;
  /** @default "archived" */
  status?: ArchiveStatus | "all";
}

/** Archived threads in id order, a page at a time. */
export async function listArchives(
  db: DbSeam,
  options: ListArchivesOptions = {},
): Promise<{ archives: ArchiveRecord[]; nextCursor?: string }> {
  const limit = options.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new CheckpointerError(
      "INVALID_ARGUMENT",
      `listArchives(): limit must be a positive integer, got ${limit}.`,
    );
  }
  const status = options.status ?? "archived";
  const rows = await db.run<Row>(
    "listArchives()",
    `SELECT ${COLUMNS} FROM ${db.tables.archives}
     WHERE ($1::text IS NULL OR thread_id > $1) AND ($2::text = 'all' OR status = $2)
     ORDER BY thread_id LIMIT ${limit + 1}`,
    [options.after ?? null, status],
  );
  const archives = rows.slice(0, limit).map(toRecord);
  return {
    archives,
    nextCursor: rows.length > limit ? archives.at(-1)?.threadId : undefined,
  };
}

/** Records a thread as archived (a re-archive after a restore replaces the old row). */
export async function recordArchived(
  q: Queryable,
  t: Tables,
  r: Omit<ArchiveRecord, "status" | "archivedAt" | "restoredAt">,
): Promise<void> {
  await q.query(
    `INSERT INTO ${t.archives} AS a (thread_id, status, location, object_key, bytes, sha256, format_version, counts)
     VALUES ($1, 'archived', $2, $3, $4, $5, $6, $7::jsonb)
     ON CONFLICT (thread_id) DO UPDATE SET status = 'archived', location = $2, object_key = $3,
       bytes = $4, sha256 = $5, format_version = $6, counts = $7::jsonb, archived_at = now(),
       restored_at = NULL`,
    [
      r.threadId,
      r.location,
      r.objectKey,
      r.bytes,
      r.sha256,
      r.formatVersion,
      JSON.stringify(r.counts),
    ],
  );
}

/** Marks a thread restored: reads work again; the row stays so a second restore is a no-op. */
export async function recordRestored(q: Queryable, t: Tables, threadId: string): Promise<void> {
  await q.query(
    `UPDATE ${t.archives} SET status = 'restored', restored_at = now() WHERE thread_id = $1`,
    [threadId],
  );
}

// archive(): moves finished threads to the cold tier, one transaction per thread: export the rows
// → write the file → read it back and verify it → delete the rows (only if they are exactly what
// the file holds) and record the index row → commit. A crash anywhere leaves the thread either
// fully archived or untouched in Postgres (a stray file is overwritten by the next run).
import {
  type DbSeam,
  deleteThreadRows,
  exportThreadRows,
  getSchemaStatus,
  listThreads,
  lockThreadForArchive,
  recordArchived,
  sectionColumns,
  THREAD_SECTIONS,
  type ThreadSection,
} from "@agentstate/checkpointer";
import { errorCode, RecoveryError } from "../errors.js";
import type { ArchiveStore } from "../types.js";
import { pool } from "../util.js";
import { decodeArchive, encodeArchive, sha256 } from "./format.js";
import { type ArchiveStoreOptions, archiveKey, openArchiveStore } from "./location.js";
import {
  ARCHIVE_STATES,
  type ArchiveCandidate,
  type ArchiveState,
  classifyForArchive,
} from "./select.js";
import { checkThreadIds, invalid } from "./validate.js";

export interface ArchiveOptions {
  /** `s3://bucket/prefix`, `azure://container/prefix`, `file:///dir`, or a store. */
  to: string | ArchiveStore;
  /** Threads whose last checkpoint is older than this. Required unless `threadIds` is given. */
  olderThan?: Date;
  /** Archive exactly these threads, in any state except one a run holds a live lease on. */
  threadIds?: string[];
  /** States that qualify when selecting by age. @default ["completed"] */
  states?: ArchiveState[];
  /** Say what would be archived; write and delete nothing. @default false */
  dryRun?: boolean;
  /** Threads classified per query (and listed per page). @default 100 */
  batchSize?: number;
  /** Threads archived at once, each in its own transaction. @default 4 */
  concurrency?: number;
  /** Credentials and endpoints for s3:// and azure:// locations. */
  store?: ArchiveStoreOptions;
  /** Called after each batch. */
  onProgress?: (progress: ArchiveProgress) => void;
}

export type ArchiveOutcome =
  | "archived"
  | "would_archive"
  | "skipped"
  | "already_archived"
  | "not_found"
  | "failed";

export interface ArchiveThreadResult {
  threadId: string;
  outcome: ArchiveOutcome;
  state?: ArchiveCandidate["state"];
  /** Why it was skipped. */
  reason?: string;
  /** Size of the archive file (compressed). */
  bytes?: number;
  /** Size of the rows it holds (uncompressed). */
  payloadBytes?: number;
  rows?: Partial<Record<ThreadSection, number>>;
  error?: { code: string; message: string };
}

export interface ArchiveProgress {
  scanned: number;
  archived: number;
  skipped: number;
  failed: number;
  /** Compressed bytes written. */
  bytes: number;
  /** Uncompressed row bytes moved. */
  payloadBytes: number;
  elapsedMs: number;
}

export interface ArchiveResult extends ArchiveProgress {
  dryRun: boolean;
  location: string;
  threads: ArchiveThreadResult[];
}

/** Rolls the delete back: the rows differ from the verified file (a write came in meanwhile). */
class ThreadChanged extends Error {}

export async function archive(db: DbSeam, options: ArchiveOptions): Promise<ArchiveResult> {
  const o = resolve(options);
  const store = await openArchiveStore(options.to, options.store);
  await store.check();
  const started = performance.now();
  const result: ArchiveResult = {
    dryRun: o.dryRun,
    location: store.location,
    scanned: 0,
    archived: 0,
    skipped: 0,
    failed: 0,
    bytes: 0,
    payloadBytes: 0,
    elapsedMs: 0,
    threads: [],
  };
  const context = {
    schemaVersion: (await getSchemaStatus(db)).version,
    columns: await db.transaction("archive()", (tx) => sectionColumns(tx, db.tables)),
  };
  const add = (r: ArchiveThreadResult) => {
    result.threads.push(r);
    if (r.outcome === "archived") {
      result.archived += 1;
      result.bytes += r.bytes ?? 0;
      result.payloadBytes += r.payloadBytes ?? 0;
    } else if (r.outcome === "failed" || r.outcome === "not_found") result.failed += 1;
    else if (r.outcome !== "would_archive") result.skipped += 1;
  };
  for await (const batch of batches(db, o)) {
    result.scanned += batch.length;
    const classes = await classifyForArchive(db, batch);
    const todo: string[] = [];
    for (const id of batch) {
      const c = classes.get(id) as ArchiveCandidate;
      const skip = decide(c, o);
      if (skip) add(skip);
      else if (o.dryRun) add({ threadId: id, outcome: "would_archive", state: c.state });
      else todo.push(id);
    }
    await pool(todo, o.concurrency, async (id) => {
      const r = await archiveOne(db, store, id, context);
      add({ ...r, state: classes.get(id)?.state });
    });
    result.elapsedMs = performance.now() - started;
    const { threads: _threads, dryRun: _d, location: _l, ...progress } = result;
    options.onProgress?.(progress);
  }
  result.elapsedMs = performance.now() - started;
  return result;
}

function resolve(options: ArchiveOptions) {
  if (!options || options.to === undefined) throw invalid("archive(): give `to`, the location.");
  const { olderThan, threadIds } = options;
  if (
    olderThan !== undefined &&
    !(olderThan instanceof Date && !Number.isNaN(olderThan.getTime()))
  ) {
    throw invalid("archive(): olderThan must be a valid Date.");
  }
  if (threadIds !== undefined) checkThreadIds("archive()", threadIds);
  if (olderThan === undefined && !threadIds?.length) {
    throw invalid("archive(): give olderThan (e.g. 30 days ago), threadIds, or both.");
  }
  const states = options.states ?? ["completed"];
  for (const s of states) {
    if (!ARCHIVE_STATES.includes(s)) {
      throw invalid(`archive(): unknown state "${s}"; use ${ARCHIVE_STATES.join(", ")}.`);
    }
  }
  const positive = (name: string, v: number | undefined, d: number) => {
    if (v === undefined) return d;
    if (!Number.isInteger(v) || v < 1)
      throw invalid(`archive(): ${name} must be a positive integer.`);
    return v;
  };
  return {
    olderThan,
    threadIds: threadIds ? [...new Set(threadIds)] : undefined,
    states,
    dryRun: options.dryRun ?? false,
    batchSize: positive("batchSize", options.batchSize, 100),
    concurrency: positive("concurrency", options.concurrency, 4),
  };
}

type Resolved = ReturnType<typeof resolve>;

async function* batches(db: DbSeam, o: Resolved): AsyncGenerator<string[]> {
  if (o.threadIds) {
    for (let i = 0; i < o.threadIds.length; i += o.batchSize) {
      yield o.threadIds.slice(i, i + o.batchSize);
    }
    return;
  }
  let after: string | undefined;
  do {
    const page = await listThreads(db, {
      limit: o.batchSize,
      after,
      inactiveSince: o.olderThan,
    });
    if (page.threads.length) yield page.threads.map((t) => t.threadId);
    after = page.nextCursor;
  } while (after);
}

/** Why a candidate is not archived, or undefined when it is. */
function decide(c: ArchiveCandidate, o: Resolved): ArchiveThreadResult | undefined {
  const base = { threadId: c.threadId, state: c.state };
  if (c.state === "not_found") return { ...base, outcome: "not_found", reason: "no such thread" };
  if (c.state === "archived") return { ...base, outcome: "already_archived" };
  if (c.archiveConflict) {
    return {
      ...base,
      outcome: "skipped",
      reason: "an earlier archive of this thread id exists; restore or deleteThread() it first",
    };
  }
  if (c.leaseLive) return { ...base, outcome: "skipped", reason: "a run holds a live lease on it" };
  if (o.olderThan && (!c.lastActivityAt || c.lastActivityAt >= o.olderThan)) {
    return { ...base, outcome: "skipped", reason: "active more recently than olderThan" };
  }
  if (!o.threadIds && !o.states.includes(c.state)) {
    return { ...base, outcome: "skipped", reason: `state ${c.state} (not in states)` };
  }
  return undefined;
}

async function archiveOne(
  db: DbSeam,
  store: ArchiveStore,
  threadId: string,
  context: { schemaVersion: number; columns: Record<ThreadSection, string[]> },
): Promise<ArchiveThreadResult> {
  const t = db.tables;
  try {
    // One transaction per thread. It holds no row lock until the delete at its end (writers are
    // blocked only for that statement), and the advisory lock keeps a second archiver or a
    // restore of the same thread out, so nobody overwrites a file this one has verified.
    return await db.transaction("archive()", async (tx): Promise<ArchiveThreadResult> => {
      if (!(await lockThreadForArchive(tx, db.schema, threadId, false))) {
        return { threadId, outcome: "skipped", reason: "another archive or restore holds it" };
      }
      const { sections } = await exportThreadRows(tx, t, threadId);
      if (THREAD_SECTIONS.every((s) => sections[s].length === 0)) {
        return { threadId, outcome: "not_found", reason: "deleted meanwhile" };
      }
      const encoded = await encodeArchive({
        threadId,
        schema: db.schema,
        schemaVersion: context.schemaVersion,
        rows: sections,
        columns: context.columns,
      });
      const key = archiveKey(threadId);
      await store.put(key, encoded.body);
      // Read back what the store now holds and verify all of it before anything is deleted.
      const back = await store.get(key);
      if (!back || sha256(back) !== encoded.sha256) {
        throw new RecoveryError(
          "ARCHIVE_CORRUPT",
          `The file written to ${store.location}/${key} reads back ${back ? "different" : "missing"}; thread ${JSON.stringify(threadId)} was left in Postgres.`,
        );
      }
      await decodeArchive(back, `${store.location}/${key}`, threadId);
      const digests = await deleteThreadRows(tx, t, threadId);
      for (const s of encoded.header.sections) {
        const d = digests[s.name];
        if (d?.rows !== s.rows || d.sha256 !== s.sha256) throw new ThreadChanged(s.name);
      }
      const rows = Object.fromEntries(encoded.header.sections.map((s) => [s.name, s.rows]));
      await recordArchived(tx, t, {
        threadId,
        location: store.location,
        objectKey: key,
        bytes: encoded.body.byteLength,
        sha256: encoded.sha256,
        formatVersion: encoded.header.formatVersion,
        counts: rows,
      });
      return {
        threadId,
        outcome: "archived",
        bytes: encoded.body.byteLength,
        payloadBytes: encoded.header.payload.bytes,
        rows,
      };
    });
  } catch (error) {
    if (error instanceof ThreadChanged) {
      return {
        threadId,
        outcome: "skipped",
        reason: `written to while being archived (${error.message}); left in Postgres`,
      };
    }
    const message = (error as Error)?.message ?? String(error);
    return { threadId, outcome: "failed", error: { code: errorCode(error) ?? "ERROR", message } };
  }
}

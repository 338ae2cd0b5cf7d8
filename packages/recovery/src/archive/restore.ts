// restore(): brings archived threads back into Postgres exactly as they were, one transaction per
// thread, after the whole file has been verified. Refuses to overwrite; a second restore is a no-op.
import {
  type DbSeam,
  importThreadRows,
  lockThreadForArchive,
  type Queryable,
  readArchiveRecords,
  recordArchived,
  recordRestored,
  SQLSTATE,
  sectionColumns,
  type ThreadSection,
  threadExists,
} from "@agentstate/checkpointer";
import { errorCode, RecoveryError } from "../errors.js";
import type { ArchiveStore } from "../types.js";
import { decodeArchive, sha256 } from "./format.js";
import {
  type ArchiveStoreOptions,
  archiveKey,
  assertArchiveKey,
  openArchiveStore,
  parseLocation,
} from "./location.js";
import { checkThreadIds } from "./validate.js";

export interface RestoreOptions {
  /** Read the files from here instead of the location in the archive index. */
  from?: string | ArchiveStore;
  /** Credentials and endpoints for s3:// and azure:// locations. */
  store?: ArchiveStoreOptions;
  /** Called after each thread. */
  onProgress?: (done: number, total: number) => void;
}

export type RestoreOutcome = "restored" | "already_restored" | "failed";

export interface RestoreThreadResult {
  threadId: string;
  outcome: RestoreOutcome;
  location?: string;
  rows?: Partial<Record<ThreadSection, number>>;
  error?: { code: string; message: string };
}

export interface RestoreResult {
  restored: number;
  alreadyRestored: number;
  failed: number;
  threads: RestoreThreadResult[];
}

/** Restores each thread; failures are reported per thread (see restoreThread for the codes). */
export async function restore(
  db: DbSeam,
  threadIds: string[],
  options: RestoreOptions = {},
): Promise<RestoreResult> {
  checkThreadIds("restore()", threadIds);
  const result: RestoreResult = { restored: 0, alreadyRestored: 0, failed: 0, threads: [] };
  const stores = new Map<string, Promise<ArchiveStore>>();
  const ids = [...new Set(threadIds)];
  for (const id of ids) {
    let r: RestoreThreadResult;
    try {
      r = await restoreThread(db, id, { ...options, stores });
    } catch (error) {
      const message = (error as Error)?.message ?? String(error);
      r = {
        threadId: id,
        outcome: "failed",
        error: { code: errorCode(error) ?? "ERROR", message },
      };
    }
    result.threads.push(r);
    if (r.outcome === "restored") result.restored += 1;
    else if (r.outcome === "already_restored") result.alreadyRestored += 1;
    else result.failed += 1;
    options.onProgress?.(result.threads.length, ids.length);
  }
  return result;
}

/**
 * Restores one thread, or throws: NOT_ARCHIVED (no index row and no `from`), THREAD_EXISTS (it
 * has rows in Postgres that are not a restore of this archive), ARCHIVE_NOT_FOUND,
 * ARCHIVE_CORRUPT, ARCHIVE_FORMAT_UNSUPPORTED, ARCHIVE_INCOMPATIBLE, ARCHIVE_LOCATION.
 */
export async function restoreThread(
  db: DbSeam,
  threadId: string,
  options: RestoreOptions & { stores?: Map<string, Promise<ArchiveStore>> } = {},
): Promise<RestoreThreadResult> {
  checkThreadIds("restoreThread()", [threadId]);
  try {
    // One transaction: the checks, the verified file and the inserts see one state of the thread,
    // and the lock waits for an archive (or another restore) of it that is in progress.
    return await db.transaction("restoreThread()", (tx) => restoreIn(tx, db, threadId, options));
  } catch (error) {
    // The seam wraps the driver's error in a CheckpointerError: its SQLSTATE is on the cause.
    const cause = (error as { cause?: unknown } | null)?.cause;
    if (
      errorCode(error) === SQLSTATE.UNIQUE_VIOLATION ||
      errorCode(cause) === SQLSTATE.UNIQUE_VIOLATION
    ) {
      throw new RecoveryError(
        "THREAD_EXISTS",
        `Thread ${JSON.stringify(threadId)} was written to while it was being restored; nothing was restored. Look at it before trying again.`,
        { cause: error },
      );
    }
    throw error;
  }
}

async function restoreIn(
  tx: Queryable,
  db: DbSeam,
  threadId: string,
  options: RestoreOptions & { stores?: Map<string, Promise<ArchiveStore>> },
): Promise<RestoreThreadResult> {
  const t = db.tables;
  const id = JSON.stringify(threadId);
  await lockThreadForArchive(tx, db.schema, threadId, true);
  const record = (await readArchiveRecords(tx, t, [threadId])).get(threadId);
  if (await threadExists(tx, t, threadId)) {
    if (record?.status === "restored") {
      return { threadId, outcome: "already_restored", location: record.location };
    }
    throw new RecoveryError(
      "THREAD_EXISTS",
      `Thread ${id} has rows in Postgres${record ? " written after it was archived" : ""}; restoring would overwrite them. ` +
        "Copy it aside and delete it first (copyThread(), then deleteThread()), then restore with --from <location>.",
    );
  }
  if (!record && options.from === undefined) {
    throw new RecoveryError(
      "NOT_ARCHIVED",
      `No archive record for thread ${id} in schema "${db.schema}" (and it has no rows in Postgres). ` +
        "Check the id and the schema, or name the file's location with --from <url>.",
    );
  }
  const useIndex = options.from === undefined || sameLocation(options.from, record?.location);
  const source = options.from ?? (record?.location as string);
  const store = await cached(options.stores, source, options.store);
  const key = useIndex && record ? assertArchiveKey(record.objectKey) : archiveKey(threadId);
  const where = `${store.location}/${key}`;
  const body = await store.get(key);
  if (!body) {
    throw new RecoveryError(
      "ARCHIVE_NOT_FOUND",
      `No archive file for thread ${id} at ${where}. Check the location (--from <url>) and that the file was not moved or deleted.`,
    );
  }
  if (useIndex && record && sha256(body) !== record.sha256) {
    throw new RecoveryError(
      "ARCHIVE_CORRUPT",
      `The archive file ${where} is not the one archived (sha256 differs from the archive index). Nothing was restored; restore from another copy with --from <url>.`,
    );
  }
  const { header, rows } = await decodeArchive(body, where, threadId);
  const columns = await sectionColumns(tx, t);
  for (const s of header.sections) {
    const missing = s.columns.filter((c) => !columns[s.name]?.includes(c));
    if (missing.length) {
      throw new RecoveryError(
        "ARCHIVE_INCOMPATIBLE",
        `The archive of thread ${id} has columns ${missing.join(", ")} in ${s.name} that schema "${db.schema}" lacks ` +
          `(written at schema version ${header.schemaVersion}). Upgrade agentstate and run \`agentstate setup\`, then restore again.`,
      );
    }
  }
  for (const s of header.sections) await importThreadRows(tx, t, s.name, s.columns, rows[s.name]);
  const counts = Object.fromEntries(header.sections.map((s) => [s.name, s.rows]));
  if (!record) {
    await recordArchived(tx, t, {
      threadId,
      location: store.location,
      objectKey: key,
      bytes: body.byteLength,
      sha256: sha256(body),
      formatVersion: header.formatVersion,
      counts,
    });
  }
  await recordRestored(tx, t, threadId);
  return { threadId, outcome: "restored", location: store.location, rows: counts };
}

function sameLocation(from: string | ArchiveStore, recorded: string | undefined): boolean {
  if (recorded === undefined) return false;
  return (typeof from === "string" ? parseLocation(from).location : from.location) === recorded;
}

function cached(
  stores: Map<string, Promise<ArchiveStore>> | undefined,
  source: string | ArchiveStore,
  options: ArchiveStoreOptions | undefined,
): Promise<ArchiveStore> {
  if (typeof source !== "string" || !stores) return openArchiveStore(source, options);
  let store = stores.get(source);
  if (!store) {
    store = openArchiveStore(source, options);
    stores.set(source, store);
  }
  return store;
}

// What the dashboard's JSON endpoints return: overview (counts, stuck list, totals), threads,
// a thread's inspection, history and diffs, storage charts, and the recover / archive / restore
// actions.
import {
  getCheckpointStats,
  listArchives,
  type PostgresCheckpointer,
  readArchiveRecords,
} from "@agentstate/checkpointer";
import { archive as archiveThreads } from "../archive/archive.js";
import { restore as restoreThreads } from "../archive/restore.js";
import { classifyForArchive } from "../archive/select.js";
import { errorCode, RecoveryError } from "../errors.js";
import { inspectWith } from "../inspect.js";
import { diffCheckpoints, history } from "../inspect-history.js";
import { largestThreads, storageOverTime } from "../inspect-sql.js";
import { DASHBOARD_STATES, threadCounts, threadsByState } from "../ledger/reads.js";
import { type ResolvedRecoveryOptions, resolveRecoveryOptions } from "../options.js";
import type { RecoveryService } from "../service.js";

export interface ApiContext {
  saver: PostgresCheckpointer;
  /** Present when graphs were given: exact stuck list, classification, and recovery. */
  service?: RecoveryService;
  readOnly: boolean;
  /** Shown in the page header (a masked connection target). */
  target: string;
  /** Where the Archive button sends threads (a canonical location URL); absent: no button. */
  archiveTo?: string;
}

/** An error with its HTTP status and a stable code, answered as `{ error: { code, message } }`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** States the Archive button asks the user to confirm ("archive anyway"): work may be unfinished. */
export const CONFIRM_ARCHIVE_STATES = ["running", "waiting", "crashed", "dead"];

/** The overview's states: the ledger's, then threads that live only in the archive. */
export const OVERVIEW_STATES = [...DASHBOARD_STATES, "archived"] as const;

const options = (c: ApiContext): ResolvedRecoveryOptions =>
  c.service?.options ?? resolveRecoveryOptions();

const STUCK_STATES = ["crashed", "failed", "dead"];

export async function overview(c: ApiContext) {
  const [counts, stats, stuck] = await Promise.all([
    threadCounts(c.saver),
    getCheckpointStats(c.saver),
    stuckThreads(c),
  ]);
  return {
    target: c.target,
    readOnly: c.readOnly,
    canRecover: Boolean(c.service) && !c.readOnly,
    archiveTo: c.archiveTo ?? null,
    graphs: c.service?.graphs.ids ?? [],
    states: OVERVIEW_STATES,
    counts: { ...counts, archived: stats.archivedThreads },
    stuck,
    totals: {
      threads: stats.uniqueThreads,
      checkpoints: stats.totalCheckpoints,
      bytes: stats.bytes.total,
    },
  };
}

/** Exact through the graphs when given; otherwise what the ledger alone shows as stuck. */
async function stuckThreads(
  c: ApiContext,
): Promise<{ exact: boolean; note?: string; threads: StuckRow[] }> {
  if (c.service) {
    let found: Awaited<ReturnType<RecoveryService["findStuckThreads"]>>;
    try {
      found = await c.service.findStuckThreads({ limit: 50 });
    } catch (error) {
      const note = `classifying through the graph failed (${error instanceof Error ? error.message : String(error)}); showing the ledger's view`;
      return { ...(await ledgerStuck(c)), note };
    }
    return {
      exact: true,
      threads: found.map((s) => ({
        threadId: s.threadId,
        state: s.state,
        reason: s.reason,
        attempts: s.attempts,
        next: s.next,
        inFlight: s.pendingToolCalls.map(
          (t) => `${t.name} ${t.id}${t.idempotent ? "" : " (not idempotent)"}`,
        ),
        canRecover: s.canRecover,
        needsReview: s.needsReview,
        lastCheckpointAt: s.lastCheckpointAt,
      })),
    };
  }
  return ledgerStuck(c);
}

interface StuckRow {
  threadId: string;
  state: string;
  reason: string;
  attempts: number;
  next: string[];
  inFlight: string[];
  canRecover: boolean;
  needsReview: boolean;
  lastCheckpointAt: Date | null;
}

async function ledgerStuck(c: ApiContext): Promise<{ exact: boolean; threads: StuckRow[] }> {
  const rows = await threadsByState(c.saver, STUCK_STATES, 50);
  return {
    exact: false,
    threads: rows.map((r) => ({
      threadId: r.threadId,
      state: r.state,
      reason:
        r.lastError ?? (r.state === "crashed" ? "lease expired with the run unfinished" : r.state),
      attempts: r.attempts,
      next: [],
      inFlight: [],
      canRecover: false,
      needsReview: false,
      lastCheckpointAt: r.lastActivityAt,
    })),
  };
}

export async function threads(c: ApiContext, state: string | null, limit: number) {
  if (state === "archived") return { state, threads: await archivedThreads(c, limit) };
  return { state, threads: await threadsByState(c.saver, state ? [state] : null, limit) };
}

/** Archived threads from the archive index (listArchives), shaped as the threads table's rows. */
async function archivedThreads(c: ApiContext, limit: number) {
  const { archives } = await listArchives(c.saver, { limit });
  return archives.map((a) => ({
    threadId: a.threadId,
    state: "archived",
    lastActivityAt: a.archivedAt,
    checkpoints: a.counts.checkpoints ?? 0,
    ledgerStatus: null,
    attempts: 0,
    owner: null,
    lastError: null,
    location: a.location,
    bytes: a.bytes,
  }));
}

export async function thread(c: ApiContext, threadId: string) {
  const service = c.service;
  const actions = {
    canRecover: Boolean(service) && !c.readOnly,
    canArchive: Boolean(c.archiveTo) && !c.readOnly,
    canRestore: !c.readOnly,
  };
  const records = await c.saver.transaction("readArchiveRecords()", (tx) =>
    readArchiveRecords(tx, c.saver.tables, [threadId]),
  );
  const [record] = records.values();
  let inspection: Awaited<ReturnType<typeof inspectWith>>;
  try {
    inspection = await inspectWith(
      c.saver,
      threadId,
      (graphId) => service?.graphs.get(graphId)?.handle,
      options(c),
      100,
    );
  } catch (error) {
    // An archived thread has no rows in Postgres: say where it is instead of "not found".
    if (errorCode(error) !== "THREAD_NOT_FOUND" || record?.status !== "archived") throw error;
    return {
      threadId,
      state: "archived",
      reason: `archived to ${record.location} on ${record.archivedAt.toISOString()}`,
      exact: true,
      archive: record,
      ledger: null,
      receipts: [],
      head: null,
      steps: [],
      inFlight: null,
      truncated: false,
      offBranch: 0,
      actions,
    };
  }
  return { ...inspection, archive: record ?? null, actions };
}

export function threadHistory(c: ApiContext, threadId: string) {
  return history(threadId, c.saver, { limit: 100 });
}

export function diff(c: ApiContext, threadId: string, a: string, b: string) {
  return diffCheckpoints(threadId, a, b, c.saver);
}

export async function storage(c: ApiContext) {
  const [over, largest, stats] = await Promise.all([
    storageOverTime(c.saver, 30),
    largestThreads(c.saver, 10),
    getCheckpointStats(c.saver),
  ]);
  return { ...over, largest, tables: stats.bytes };
}

/** The recover buttons: one recovery of one thread (force re-drives dead and review threads). */
export async function recover(c: ApiContext, threadId: string, force: boolean) {
  if (!c.service) {
    throw new RecoveryError(
      "INVALID_CONFIG",
      "This dashboard was started without a graph: restart it with --graph path:export (or --config) to recover threads.",
    );
  }
  return { result: await c.service.recoverStuckSession(threadId, force ? { force: true } : {}) };
}

/**
 * The Archive button: this one thread, by id (the library archives a named thread in any state but
 * under a live lease). Running, waiting, crashed and dead threads need `force` (the user's
 * "archive anyway"): their work may be unfinished.
 */
export async function archive(c: ApiContext, threadId: string, force: boolean) {
  if (!c.archiveTo) {
    throw new RecoveryError(
      "INVALID_CONFIG",
      "This dashboard was started without an archive location: restart it with --archive-to <url> (or set AGENTSTATE_ARCHIVE_URL).",
    );
  }
  const state = (await classifyForArchive(c.saver, [threadId])).get(threadId)?.state;
  if (state && CONFIRM_ARCHIVE_STATES.includes(state) && !force) {
    throw new HttpError(
      409,
      "CONFIRM_REQUIRED",
      `Thread ${JSON.stringify(threadId)} is ${state}: its run may be unfinished. Archive it anyway?`,
    );
  }
  const r = await archiveThreads(c.saver, { to: c.archiveTo, threadIds: [threadId] });
  return { result: { ...r.threads[0], location: r.location } };
}

/** The Restore button: the thread comes back from the location its archive-index row names. */
export async function restore(c: ApiContext, threadId: string) {
  const r = await restoreThreads(c.saver, [threadId]);
  return { result: r.threads[0] };
}

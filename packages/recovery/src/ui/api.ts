// What the dashboard's JSON endpoints return: overview (counts, stuck list, totals), threads,
// a thread's inspection, history and diffs, storage charts, and the recover action.
import { getCheckpointStats, type PostgresCheckpointer } from "@agentstate/checkpointer";
import { RecoveryError } from "../errors.js";
import { inspectWith } from "../inspect.js";
import { diffCheckpoints, history } from "../inspect-history.js";
import {
  DASHBOARD_STATES,
  largestThreads,
  storageOverTime,
  threadCounts,
  threadsByState,
} from "../inspect-sql.js";
import { type ResolvedRecoveryOptions, resolveRecoveryOptions } from "../options.js";
import type { RecoveryService } from "../service.js";

export interface ApiContext {
  saver: PostgresCheckpointer;
  /** Present when graphs were given: exact stuck list, classification, and recovery. */
  service?: RecoveryService;
  readOnly: boolean;
  /** Shown in the page header (a masked connection target). */
  target: string;
}

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
    graphs: c.service?.graphs.ids ?? [],
    states: DASHBOARD_STATES,
    counts,
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
  return { state, threads: await threadsByState(c.saver, state ? [state] : null, limit) };
}

export async function thread(c: ApiContext, threadId: string) {
  const service = c.service;
  const inspection = await inspectWith(
    c.saver,
    threadId,
    (graphId) => service?.graphs.get(graphId)?.handle,
    options(c),
    100,
  );
  return { ...inspection, actions: { canRecover: Boolean(service) && !c.readOnly } };
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

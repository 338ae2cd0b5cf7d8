// Read-only views over the whole ledger: counts per status (stats), leases right now and dead
// threads (stuck, recover), when the next thread becomes due (the worker's timer), and the
// dashboard's threads by state. Nothing here writes or locks.
import {
  type DbSeam,
  DUE_STATUSES,
  liveLease,
  RUN_STATUSES,
  type RunStatus,
  statusList,
} from "@agentstate/checkpointer";
import { date } from "./records.js";

/** Ledger rows per status, every status present (0 when none). */
export async function ledgerCounts(db: DbSeam): Promise<Record<RunStatus, number>> {
  const rows = await db.run<{ status: RunStatus; n: number }>(
    "ledgerCounts()",
    `SELECT status, count(*)::int AS n FROM ${db.tables.runs} GROUP BY status`,
  );
  const counts = Object.fromEntries(RUN_STATUSES.map((s) => [s, 0])) as Record<RunStatus, number>;
  for (const r of rows) counts[r.status] = Number(r.n);
  return counts;
}

/** Leases right now: live ones (count, earliest expiry, seconds to it) and expired active rows. */
export interface LeaseSummary {
  live: number;
  earliestExpiry: Date | null;
  secondsToEarliestExpiry: number | null;
  /** running/recovering/crashed/failed/drained rows whose lease has expired: the sweep's candidates. */
  expired: number;
}

export async function leaseSummary(db: DbSeam): Promise<LeaseSummary> {
  const live = liveLease();
  const [row] = await db.run<{
    live: number;
    earliest: string | null;
    secs: number | null;
    expired: number;
  }>(
    "leaseSummary()",
    `SELECT count(*) FILTER (WHERE ${live})::int AS live,
       min(lease_until) FILTER (WHERE ${live}) AS earliest,
       extract(epoch FROM min(lease_until) FILTER (WHERE ${live}) - now())::float8 AS secs,
       count(*) FILTER (WHERE status IN ${statusList([...DUE_STATUSES, "drained"])}
         AND lease_until <= now())::int AS expired
     FROM ${db.tables.runs}`,
  );
  return {
    live: Number(row?.live ?? 0),
    earliestExpiry: date(row?.earliest),
    secondsToEarliestExpiry:
      row?.secs === null || row?.secs === undefined ? null : Math.ceil(Number(row.secs)),
    expired: Number(row?.expired ?? 0),
  };
}

/** How many threads are dead. */
export async function deadCount(db: DbSeam): Promise<number> {
  const [row] = await db.run<{ n: number }>(
    "deadCount()",
    `SELECT count(*)::int AS n FROM ${db.tables.runs} WHERE status = 'dead'`,
  );
  return Number(row?.n ?? 0);
}

/** A dead thread: why, and whether it waits for a human's review. */
export interface DeadThread {
  threadId: string;
  reason: string;
  needsReview: boolean;
}

/** Dead threads (need a human or `force`), newest first. */
export async function deadThreads(db: DbSeam, limit: number): Promise<DeadThread[]> {
  const rows = await db.run<{
    thread_id: string;
    reason: string | null;
    last_error: string | null;
    needs_review: boolean;
  }>(
    "deadThreads()",
    `SELECT thread_id, details->>'reason' AS reason, last_error, needs_review FROM ${db.tables.runs}
     WHERE status = 'dead' ORDER BY updated_at DESC LIMIT $1`,
    [limit],
  );
  return rows.map((r) => ({
    threadId: r.thread_id,
    reason: r.reason ?? r.last_error ?? "dead",
    needsReview: r.needs_review,
  }));
}

/**
 * Milliseconds until the next tracked thread (other than `exclude`) becomes a candidate: the
 * earliest moment a live lease expires or a backoff ends (whichever of the two is later, per
 * row); 0 when one is due already (it expired after the candidate query looked). Null when none
 * is pending. Reads the due index only.
 */
export async function msUntilNextDue(db: DbSeam, exclude: string[] = []): Promise<number | null> {
  const [row] = await db.run<{ ms: number | null }>(
    "msUntilNextDue()",
    `SELECT extract(epoch FROM min(greatest(lease_until, coalesce(next_attempt_at, lease_until)))
       - now())::float8 * 1000 AS ms
     FROM ${db.tables.runs}
     WHERE status IN ${statusList(DUE_STATUSES)} AND lease_until IS NOT NULL
       AND thread_id <> ALL ($1::text[])`,
    [exclude],
  );
  return row?.ms === null || row?.ms === undefined ? null : Math.max(0, Number(row.ms));
}

/** The groups the dashboard shows, in order (other ledger statuses are shown as they come). */
export const DASHBOARD_STATES = [
  "running",
  "waiting",
  "crashed",
  "failed",
  "drained",
  "dead",
  "completed",
  "untracked",
] as const;

/**
 * The dashboard's state of a thread from the ledger alone: a running row whose lease lapsed is
 * `crashed`; no row is `untracked` (plain invokes: only the graph can classify those).
 */
const STATE_SQL = `CASE
  WHEN r.thread_id IS NULL THEN 'untracked'
  WHEN ${liveLease("r")} THEN 'running'
  WHEN r.status IN ('running', 'recovering', 'crashed') THEN 'crashed'
  ELSE r.status END`;

const threadsSql = (db: DbSeam) => `WITH c AS (
    SELECT thread_id, max(created_at) AS last_at, count(*)::int AS n FROM ${db.tables.checkpoints}
    GROUP BY thread_id)
  SELECT coalesce(c.thread_id, r.thread_id) AS thread_id, ${STATE_SQL} AS state,
    c.last_at, coalesce(c.n, 0) AS checkpoints, r.status, r.attempts, r.owner, r.last_error,
    r.lease_until, r.updated_at
  FROM c FULL JOIN ${db.tables.runs} r ON r.thread_id = c.thread_id`;

/** Threads per dashboard state (every state of DASHBOARD_STATES present). */
export async function threadCounts(db: DbSeam): Promise<Record<string, number>> {
  const rows = await db.run<{ state: string; n: number }>(
    "threadCounts()",
    `SELECT state, count(*)::int AS n FROM (${threadsSql(db)}) x GROUP BY state`,
  );
  const counts: Record<string, number> = Object.fromEntries(DASHBOARD_STATES.map((s) => [s, 0]));
  for (const r of rows) counts[r.state] = Number(r.n);
  return counts;
}

export interface ThreadRow {
  threadId: string;
  state: string;
  lastActivityAt: Date | null;
  checkpoints: number;
  ledgerStatus: string | null;
  attempts: number;
  owner: string | null;
  lastError: string | null;
}

/** Threads, most recently active first, optionally only those in the given dashboard states. */
export async function threadsByState(
  db: DbSeam,
  states: string[] | null,
  limit: number,
): Promise<ThreadRow[]> {
  const rows = await db.run<Record<string, unknown>>(
    "threadsByState()",
    `SELECT * FROM (${threadsSql(db)}) x WHERE ($1::text[] IS NULL OR state = ANY($1))
     ORDER BY coalesce(last_at, updated_at) DESC NULLS LAST, thread_id LIMIT $2`,
    [states, limit],
  );
  return rows.map((r) => ({
    threadId: String(r.thread_id),
    state: String(r.state),
    lastActivityAt: r.last_at ? new Date(r.last_at as string) : null,
    checkpoints: Number(r.checkpoints),
    ledgerStatus: (r.status as string | null) ?? null,
    attempts: Number(r.attempts ?? 0),
    owner: (r.owner as string | null) ?? null,
    lastError: (r.last_error as string | null) ?? null,
  }));
}

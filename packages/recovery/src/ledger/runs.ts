// A run's life in its ledger row after the claim: lease renewal by the owner (and the check a
// stalled run makes instead), the recorded end — finished, drained at a step boundary, or dead —
// and the status a classification writes for a thread no lease holder speaks for.
import {
  type DbSeam,
  leasedStatus,
  liveLease,
  type PostgresCheckpointer,
} from "@agentstate/checkpointer";
import type { RunOutcome } from "../types.js";
import { RUNS_CHANNEL } from "./channel.js";

/**
 * Heartbeat: pushes the lease out while this owner still holds `fence`. Undefined = lease lost;
 * `handoff` = a multitask request (interrupt/rollback) asks this run to drain.
 */
export async function renewLease(
  db: DbSeam,
  threadId: string,
  fence: number,
  leaseSeconds: number,
): Promise<{ handoff: boolean } | undefined> {
  const rows = await db.run<{ handoff: boolean }>(
    "renewLease()",
    `UPDATE ${db.tables.runs} SET lease_until = now() + make_interval(secs => $3::float8),
       heartbeat_at = now(), updated_at = now()
     WHERE thread_id = $1 AND fence = $2 AND ${leasedStatus()}
     RETURNING details ? 'handoff' AS handoff`,
    [threadId, fence, leaseSeconds],
  );
  return rows[0] ? { handoff: Boolean(rows[0].handoff) } : undefined;
}

/** Whether `fence` still owns the thread's run (a stalled run checks this instead of renewing). */
export async function holdsLease(db: DbSeam, threadId: string, fence: number): Promise<boolean> {
  const rows = await db.run(
    "holdsLease()",
    `SELECT 1 FROM ${db.tables.runs} WHERE thread_id = $1 AND fence = $2 AND ${leasedStatus()}`,
    [threadId, fence],
  );
  return rows.length > 0;
}

/**
 * Records how a run ended (see RunOutcome) and releases its lease: only if `fence` is still this
 * owner's (undefined otherwise). A failed run keeps `lease_until` (set to now), so it stays in
 * the sweep index; other outcomes drop it. `queued`: inputs are waiting behind the run (multitask
 * "enqueue"). The checkpointer sends it through group commit, so concurrent runs' outcomes share
 * statements with their checkpoints (PostgresCheckpointer.recordRunOutcome).
 */
export async function finishRun(
  saver: Pick<PostgresCheckpointer, "recordRunOutcome">,
  threadId: string,
  fence: number,
  outcome: RunOutcome,
): Promise<{ queued: boolean } | undefined> {
  return saver.recordRunOutcome({
    threadId,
    fence,
    status: outcome.status,
    headCheckpointId: outcome.headCheckpointId ?? null,
    error: outcome.error ?? null,
    retryInSeconds: outcome.retryInSeconds ?? null,
    errorKind: outcome.errorKind ?? null,
    needsReview: outcome.needsReview ?? false,
    reason: outcome.reason ?? null,
  });
}

export interface Drain {
  threadId: string;
  /** The fence of the run that drains: nothing happens unless it still holds the thread. */
  fence: number;
  headCheckpointId: string | null;
  reason: string;
  /** How long a drain a multitask request asked for keeps the thread for that request. @default 0 */
  reserveSeconds?: number;
}

/**
 * Records that this owner's run stopped at a superstep boundary on request: status `drained`,
 * lease released (`lease_until = now()`, so it is due at once), fence advanced (nothing this run
 * still has in flight can write), attempts untouched. Only if `fence` is still this owner's.
 * The NOTIFY is sent by the same statement, so listeners hear of it exactly when it commits.
 * A drain a multitask request asked for (`details.handoff`) keeps the thread reserved for that
 * request for `reserveSeconds` instead (no worker resumes it meanwhile; see claimForRun).
 */
export async function drainRun(db: DbSeam, drain: Drain): Promise<boolean> {
  const rows = await db.run(
    "drainRun()",
    `WITH u AS (
       UPDATE ${db.tables.runs} SET status = 'drained', owner = NULL,
         lease_until = CASE WHEN details ? 'handoff'
           THEN now() + make_interval(secs => $7::float8) ELSE now() END,
         fence = fence + 1, next_attempt_at = NULL, last_error = NULL, error_kind = NULL,
         head_checkpoint_id = coalesce($3, head_checkpoint_id),
         details = details || jsonb_build_object('reason', $4::text), updated_at = now()
       WHERE thread_id = $1 AND fence = $2 RETURNING thread_id, graph_id)
     SELECT 1 AS ok, pg_notify($5, json_build_object('event', 'drained', 'schema', $6::text,
       'thread_id', u.thread_id, 'graph_id', u.graph_id)::text) FROM u`,
    [
      drain.threadId,
      drain.fence,
      drain.headCheckpointId,
      drain.reason,
      RUNS_CHANNEL,
      db.tables.schema,
      drain.reserveSeconds ?? 0,
    ],
  );
  return rows.length > 0;
}

/**
 * Writes a status decided by classification (not by a lease holder): dead after too many
 * attempts, or the real state of a thread whose ledger row was stale or missing. Never
 * overrides a live lease; `onlyIfHead` guards against a thread that moved meanwhile.
 */
export async function recordClassification(
  db: DbSeam,
  threadId: string,
  outcome: RunOutcome & { onlyIfHead: string | null },
): Promise<boolean> {
  const t = db.tables;
  const rows = await db.run(
    "recordClassification()",
    `WITH head AS (
       SELECT checkpoint_id, created_at FROM ${t.checkpoints}
       WHERE thread_id = $1 AND checkpoint_ns = '' ORDER BY checkpoint_id DESC LIMIT 1)
     INSERT INTO ${t.runs} AS r (thread_id, status, head_checkpoint_id, last_error, error_kind,
       needs_review, details, started_at, updated_at)
     SELECT $1, $2, $3, $4, $5, $6, jsonb_build_object('reason', $7::text, 'adopted', true),
       head.created_at, head.created_at
     FROM head WHERE head.checkpoint_id IS NOT DISTINCT FROM $3
     ON CONFLICT (thread_id) DO UPDATE SET status = $2, owner = NULL,
       lease_until = CASE WHEN $2 = 'failed' THEN now() ELSE NULL END,
       head_checkpoint_id = $3, last_error = coalesce($4, r.last_error),
       error_kind = coalesce($5, r.error_kind), needs_review = $6,
       next_attempt_at = CASE WHEN $2 = 'failed' THEN r.next_attempt_at ELSE NULL END,
       details = r.details || jsonb_build_object('reason', $7::text),
       updated_at = EXCLUDED.updated_at
     WHERE NOT ${liveLease("r")}
     RETURNING 1`,
    [
      threadId,
      outcome.status,
      outcome.onlyIfHead,
      outcome.error ?? null,
      outcome.errorKind ?? null,
      outcome.needsReview ?? false,
      outcome.reason ?? null,
    ],
  );
  return rows.length > 0;
}

/** Dead without a checkpoint to guard on (a run that died before writing its first one). */
export async function markDead(db: DbSeam, threadId: string, reason: string): Promise<boolean> {
  const rows = await db.run(
    "markDead()",
    `UPDATE ${db.tables.runs} SET status = 'dead', owner = NULL, lease_until = NULL,
       fence = fence + 1, next_attempt_at = NULL,
       details = details || jsonb_build_object('reason', $2::text),
       updated_at = now()
     WHERE thread_id = $1 AND NOT ${liveLease()}
     RETURNING 1`,
    [threadId, reason],
  );
  return rows.length > 0;
}

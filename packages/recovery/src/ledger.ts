import type { PostgresCheckpointer } from "@agentstate/checkpointer";
import type { ErrorKind } from "./classify.js";
import type { ResolvedRecoveryOptions } from "./options.js";
import type { ResumeRecord } from "./resume.js";

export type RunStatus =
  | "running"
  | "completed"
  | "waiting"
  | "failed"
  | "crashed"
  | "recovering"
  | "dead"
  /** Stopped at a superstep boundary by a drain (a deploy): resumable at once, not a crash. */
  | "drained";

/** One ledger row, plus what the database clock says about it (no client clock is trusted). */
export interface RunRecord {
  threadId: string;
  status: RunStatus;
  owner: string | null;
  leaseUntil: Date | null;
  heartbeatAt: Date | null;
  fence: number;
  attempts: number;
  nextAttemptAt: Date | null;
  lastError: string | null;
  errorKind: ErrorKind | null;
  needsReview: boolean;
  graphId: string | null;
  headCheckpointId: string | null;
  startedAt: Date;
  updatedAt: Date;
  details: Record<string, unknown>;
  /** lease_until > now() on the database clock. */
  leaseLive: boolean;
  /** next_attempt_at has passed (or is unset). */
  due: boolean;
}

/** A thread as the database sees it: its ledger row (if any) and its last checkpoint time. */
export interface ThreadFacts {
  run: RunRecord | undefined;
  lastCheckpointAt: Date | null;
  /** Seconds since the last checkpoint, on the database clock. */
  idleSeconds: number | null;
}

type Row = Record<string, unknown>;

const date = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string));

function toRecord(r: Row): RunRecord {
  return {
    threadId: r.thread_id as string,
    status: r.status as RunStatus,
    owner: (r.owner as string | null) ?? null,
    leaseUntil: date(r.lease_until),
    heartbeatAt: date(r.heartbeat_at),
    fence: Number(r.fence),
    attempts: Number(r.attempts),
    nextAttemptAt: date(r.next_attempt_at),
    lastError: (r.last_error as string | null) ?? null,
    errorKind: (r.error_kind as ErrorKind | null) ?? null,
    needsReview: Boolean(r.needs_review),
    graphId: (r.graph_id as string | null) ?? null,
    headCheckpointId: (r.head_checkpoint_id as string | null) ?? null,
    startedAt: new Date(r.started_at as string),
    updatedAt: new Date(r.updated_at as string),
    details: (r.details as Record<string, unknown>) ?? {},
    leaseLive: Boolean(r.lease_live),
    due: Boolean(r.due),
  };
}

const RUN_COLUMNS = `r.*, (r.lease_until IS NOT NULL AND r.lease_until > now()) AS lease_live,
  (r.next_attempt_at IS NULL OR r.next_attempt_at <= now()) AS due`;

/** The ledger row and last-checkpoint time of a thread, in one round trip. */
export async function readThreadFacts(
  saver: PostgresCheckpointer,
  threadId: string,
): Promise<ThreadFacts> {
  const t = saver.tables;
  const [row] = await saver.run<Row>(
    "readThreadFacts()",
    `SELECT ${RUN_COLUMNS}, r.thread_id IS NOT NULL AS tracked, c.last_at,
       extract(epoch FROM now() - c.last_at)::float8 AS idle
     FROM (SELECT max(created_at) AS last_at FROM ${t.checkpoints} WHERE thread_id = $1) c
     LEFT JOIN ${t.runs} r ON r.thread_id = $1`,
    [threadId],
  );
  return {
    run: row?.tracked ? toRecord(row) : undefined,
    lastCheckpointAt: date(row?.last_at),
    idleSeconds: row?.idle === null || row?.idle === undefined ? null : Number(row.idle),
  };
}

export async function readRun(
  saver: PostgresCheckpointer,
  threadId: string,
): Promise<RunRecord | undefined> {
  const [row] = await saver.run<Row>(
    "readRun()",
    `SELECT ${RUN_COLUMNS} FROM ${saver.tables.runs} r WHERE r.thread_id = $1`,
    [threadId],
  );
  return row ? toRecord(row) : undefined;
}

/**
 * A drained row whose lease is still in the future is reserved for the multitask request that
 * asked for the drain (`details.handoff`): only a claim carrying that token may take it.
 */
export const RESERVED = `(r.status = 'drained' AND r.lease_until > now())`;

/**
 * Claims a thread for a new run started by the application. Succeeds unless another owner holds
 * a live lease (or a drain reserved it for another multitask request than `handoff`); bumps the
 * fence so any earlier owner's writes are rejected from now on. Records the head checkpoint the
 * run starts from (`details.start_head`, what a `rollback` forks from).
 */
export async function claimForRun(
  saver: PostgresCheckpointer,
  threadId: string,
  o: ResolvedRecoveryOptions,
  resume: ResumeRecord = {},
  handoff: string | null = null,
): Promise<{ fence: number } | undefined> {
  const t = saver.tables;
  const rows = await saver.run<{ fence: string }>(
    "claimForRun()",
    `WITH head AS (
       SELECT jsonb_build_object('start_head', (SELECT checkpoint_id FROM ${t.checkpoints}
         WHERE thread_id = $1 AND checkpoint_ns = '' ORDER BY checkpoint_id DESC LIMIT 1)) AS d)
     INSERT INTO ${t.runs} AS r (thread_id, status, owner, lease_until, heartbeat_at, fence,
       attempts, graph_id, started_at, updated_at, details)
     SELECT $1, 'running', $2, now() + make_interval(secs => $3::float8), now(), 1, 0, $4, now(), now(),
       $5::jsonb || head.d FROM head
     ON CONFLICT (thread_id) DO UPDATE SET status = 'running', owner = $2,
       lease_until = now() + make_interval(secs => $3::float8), heartbeat_at = now(),
       fence = r.fence + 1, attempts = 0, next_attempt_at = NULL, last_error = NULL,
       error_kind = NULL, needs_review = false, graph_id = coalesce($4, r.graph_id),
       started_at = now(), updated_at = now(),
       details = (r.details - 'attempt_head' - 'reason' - 'config' - 'input' - 'handoff')
         || EXCLUDED.details
     WHERE NOT (r.status IN ('running', 'recovering') AND r.lease_until > now())
       AND NOT (${RESERVED} AND r.details->>'handoff' IS DISTINCT FROM $6::text)
     RETURNING r.fence`,
    [threadId, o.owner, o.leaseSeconds, o.graphId ?? null, JSON.stringify(resume), handoff],
  );
  return rows[0] ? { fence: Number(rows[0].fence) } : undefined;
}

/** SQL for the backoff delay (seconds) before attempt number `attemptsExpr`. */
function backoffSql(attemptsExpr: string, first: number): string {
  return `least($${first + 2}::float8, $${first}::float8 * power($${first + 1}::float8, greatest(${attemptsExpr} - 1, 0)))
    * (1 + $${first + 3}::float8 * (random() * 2 - 1)) / 1000.0`;
}

/**
 * Claims a stuck thread for recovery with one statement: only if no live lease is held, the
 * thread is due (or forced), and its head checkpoint is still `expectedHead` — so of several
 * workers racing, exactly one gets a row back. Works for threads that have no ledger row yet.
 * Attempts restart at 1 when the head moved since the previous attempt.
 */
export async function claimForRecovery(
  saver: PostgresCheckpointer,
  threadId: string,
  expectedHead: string,
  graphId: string | null,
  o: ResolvedRecoveryOptions,
): Promise<{ fence: number; attempts: number } | undefined> {
  const t = saver.tables;
  // A drained run stopped on purpose: resuming it is not another attempt.
  const attemptsExpr = `CASE WHEN r.status = 'drained' THEN r.attempts
    WHEN r.details->>'attempt_head' IS DISTINCT FROM $4 THEN 1 ELSE r.attempts + 1 END`;
  const rows = await saver.run<{ fence: string; attempts: number }>(
    "claimForRecovery()",
    `WITH head AS (
       SELECT checkpoint_id FROM ${t.checkpoints}
       WHERE thread_id = $1 AND checkpoint_ns = '' ORDER BY checkpoint_id DESC LIMIT 1)
     INSERT INTO ${t.runs} AS r (thread_id, status, owner, lease_until, heartbeat_at, fence, attempts,
       graph_id, head_checkpoint_id, next_attempt_at, details, started_at, updated_at)
     SELECT $1, 'recovering', $2, now() + make_interval(secs => $3::float8), now(), 1, 1, $5, $4,
       now() + make_interval(secs => ${backoffSql("1", 7)}), jsonb_build_object('attempt_head', $4::text),
       now(), now()
     FROM head WHERE head.checkpoint_id = $4
     ON CONFLICT (thread_id) DO UPDATE SET status = 'recovering', owner = $2,
       lease_until = now() + make_interval(secs => $3::float8), heartbeat_at = now(),
       fence = r.fence + 1, attempts = ${attemptsExpr},
       next_attempt_at = now() + make_interval(secs => ${backoffSql(attemptsExpr, 7)}),
       graph_id = coalesce($5, r.graph_id), head_checkpoint_id = $4, needs_review = false,
       details = (r.details - 'handoff') || jsonb_build_object('attempt_head', $4::text), updated_at = now()
     WHERE NOT (r.status IN ('running', 'recovering') AND r.lease_until > now()) AND NOT ${RESERVED}
       AND ($6::boolean OR r.status <> 'dead')
       AND ($6::boolean OR r.next_attempt_at IS NULL OR r.next_attempt_at <= now())
     RETURNING r.fence, r.attempts`,
    [
      threadId,
      o.owner,
      o.leaseSeconds,
      expectedHead,
      graphId,
      o.force,
      o.backoffInitialMs,
      o.backoffFactor,
      o.backoffMaxMs,
      o.jitter,
    ],
  );
  return rows[0] ? { fence: Number(rows[0].fence), attempts: Number(rows[0].attempts) } : undefined;
}

/**
 * Claims a tracked thread that has no checkpoint at all (its run died before the first one) to
 * start it again from its stored input: same guards as claimForRecovery, plus "still no checkpoint".
 */
export async function claimUnstarted(
  saver: PostgresCheckpointer,
  threadId: string,
  o: ResolvedRecoveryOptions,
): Promise<{ fence: number; attempts: number } | undefined> {
  const t = saver.tables;
  const rows = await saver.run<{ fence: string; attempts: number }>(
    "claimUnstarted()",
    `UPDATE ${t.runs} AS r SET status = 'recovering', owner = $2,
       lease_until = now() + make_interval(secs => $3::float8), heartbeat_at = now(),
       fence = r.fence + 1,
       attempts = r.attempts + 1,
       next_attempt_at = now() + make_interval(secs => ${backoffSql("r.attempts + 1", 5)}),
       needs_review = false, details = r.details - 'handoff', updated_at = now()
     WHERE r.thread_id = $1
       AND NOT (r.status IN ('running', 'recovering') AND r.lease_until > now()) AND NOT ${RESERVED}
       AND ($4::boolean OR r.status <> 'dead')
       AND ($4::boolean OR r.next_attempt_at IS NULL OR r.next_attempt_at <= now())
       AND NOT EXISTS (SELECT 1 FROM ${t.checkpoints} c WHERE c.thread_id = $1 AND c.checkpoint_ns = '')
     RETURNING r.fence, r.attempts`,
    [
      threadId,
      o.owner,
      o.leaseSeconds,
      o.force,
      o.backoffInitialMs,
      o.backoffFactor,
      o.backoffMaxMs,
      o.jitter,
    ],
  );
  return rows[0] ? { fence: Number(rows[0].fence), attempts: Number(rows[0].attempts) } : undefined;
}

/**
 * Heartbeat: pushes the lease out while this owner still holds `fence`. Undefined = lease lost;
 * `handoff` = a multitask request (interrupt/rollback) asks this run to drain.
 */
export async function renewLease(
  saver: PostgresCheckpointer,
  threadId: string,
  fence: number,
  leaseSeconds: number,
): Promise<{ handoff: boolean } | undefined> {
  const rows = await saver.run<{ handoff: boolean }>(
    "renewLease()",
    `UPDATE ${saver.tables.runs} SET lease_until = now() + make_interval(secs => $3::float8),
       heartbeat_at = now(), updated_at = now()
     WHERE thread_id = $1 AND fence = $2 AND status IN ('running', 'recovering')
     RETURNING details ? 'handoff' AS handoff`,
    [threadId, fence, leaseSeconds],
  );
  return rows[0] ? { handoff: Boolean(rows[0].handoff) } : undefined;
}

/** How a run ended, as recorded in the ledger by its owner. */
export interface RunOutcome {
  status: Extract<RunStatus, "completed" | "waiting" | "failed" | "dead">;
  headCheckpointId?: string | null;
  error?: string | null;
  errorKind?: ErrorKind | null;
  /** For failed: when the next attempt may start. */
  retryInSeconds?: number | null;
  needsReview?: boolean;
  reason?: string | null;
}

/**
 * Records the outcome and releases the lease, only if this owner still holds `fence`. A failed
 * run keeps `lease_until` (set to now) so it stays in the sweep index; other outcomes drop it.
 */
export async function finishRun(
  saver: PostgresCheckpointer,
  threadId: string,
  fence: number,
  outcome: RunOutcome,
): Promise<boolean> {
  const rows = await saver.run(
    "finishRun()",
    `UPDATE ${saver.tables.runs} SET status = $3, owner = NULL,
       lease_until = CASE WHEN $3 = 'failed' THEN now() ELSE NULL END,
       attempts = CASE WHEN $3 IN ('completed', 'waiting') THEN 0 ELSE attempts END,
       next_attempt_at = CASE WHEN $6::float8 IS NULL THEN NULL ELSE now() + make_interval(secs => $6::float8) END,
       head_checkpoint_id = coalesce($4, head_checkpoint_id), last_error = $5, error_kind = $7,
       needs_review = $8, details = CASE WHEN $9::text IS NULL THEN details - 'reason'
         ELSE details || jsonb_build_object('reason', $9::text) END, updated_at = now()
     WHERE thread_id = $1 AND fence = $2 RETURNING 1`,
    [
      threadId,
      fence,
      outcome.status,
      outcome.headCheckpointId ?? null,
      outcome.error ?? null,
      outcome.retryInSeconds ?? null,
      outcome.errorKind ?? null,
      outcome.needsReview ?? false,
      outcome.reason ?? null,
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
  saver: PostgresCheckpointer,
  threadId: string,
  outcome: RunOutcome & { onlyIfHead: string | null },
): Promise<boolean> {
  const t = saver.tables;
  const rows = await saver.run(
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
     WHERE NOT (r.status IN ('running', 'recovering') AND r.lease_until > now())
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
export async function markDead(
  saver: PostgresCheckpointer,
  threadId: string,
  reason: string,
): Promise<boolean> {
  const rows = await saver.run(
    "markDead()",
    `UPDATE ${saver.tables.runs} SET status = 'dead', owner = NULL, lease_until = NULL,
       fence = fence + 1, next_attempt_at = NULL,
       details = details || jsonb_build_object('reason', $2::text),
       updated_at = now()
     WHERE thread_id = $1 AND NOT (status IN ('running', 'recovering') AND lease_until > now())
     RETURNING 1`,
    [threadId, reason],
  );
  return rows.length > 0;
}

/** Leases right now: live ones (count, earliest expiry, seconds to it) and expired active rows. */
export interface LeaseSummary {
  live: number;
  earliestExpiry: Date | null;
  secondsToEarliestExpiry: number | null;
  /** running/recovering/crashed/failed/drained rows whose lease has expired: the sweep's candidates. */
  expired: number;
}

export async function leaseSummary(saver: PostgresCheckpointer): Promise<LeaseSummary> {
  const [row] = await saver.run<{
    live: number;
    earliest: string | null;
    secs: number | null;
    expired: number;
  }>(
    "leaseSummary()",
    `SELECT count(*) FILTER (WHERE status IN ('running', 'recovering') AND lease_until > now())::int AS live,
       min(lease_until) FILTER (WHERE status IN ('running', 'recovering') AND lease_until > now()) AS earliest,
       extract(epoch FROM min(lease_until) FILTER (
         WHERE status IN ('running', 'recovering') AND lease_until > now()) - now())::float8 AS secs,
       count(*) FILTER (WHERE status IN ('running', 'recovering', 'crashed', 'failed', 'drained')
         AND lease_until <= now())::int AS expired
     FROM ${saver.tables.runs}`,
  );
  return {
    live: Number(row?.live ?? 0),
    earliestExpiry: date(row?.earliest),
    secondsToEarliestExpiry:
      row?.secs === null || row?.secs === undefined ? null : Math.ceil(Number(row.secs)),
    expired: Number(row?.expired ?? 0),
  };
}

// Ledger statements of graceful drains and of the always-on worker: drain a run, check a lease,
// and when the next thread becomes due (what the worker's sweep timer waits for).
import type { PostgresCheckpointer } from "@agentstate/checkpointer";
import { ACTIVE } from "./candidates.js";

/** The NOTIFY channel a drain announces itself on; the payload names the schema and thread. */
export const RUNS_CHANNEL = "agentstate_runs";

/** What a NOTIFY on RUNS_CHANNEL carries (JSON). `schema` is the quoted schema name. */
export interface RunsNotification {
  /** `handoff`: a multitask request asks the thread's current run to drain. */
  event: "drained" | "probe" | "handoff";
  schema: string;
  thread_id?: string;
  graph_id?: string | null;
  probe?: string;
}

/**
 * Records that this owner's run stopped at a superstep boundary on request: status `drained`,
 * lease released (`lease_until = now()`, so it is due at once), fence advanced (nothing this run
 * still has in flight can write), attempts untouched. Only if `fence` is still this owner's.
 * The NOTIFY is sent by the same statement, so listeners hear of it exactly when it commits.
 * A drain a multitask request asked for (`details.handoff`) keeps the thread reserved for that
 * request for `reserveSeconds` instead (no worker resumes it meanwhile; see claimForRun).
 */
export async function drainRun(
  saver: PostgresCheckpointer,
  threadId: string,
  fence: number,
  headCheckpointId: string | null,
  reason: string,
  reserveSeconds = 0,
): Promise<boolean> {
  const rows = await saver.run(
    "drainRun()",
    `WITH u AS (
       UPDATE ${saver.tables.runs} SET status = 'drained', owner = NULL,
         lease_until = CASE WHEN details ? 'handoff'
           THEN now() + make_interval(secs => $7::float8) ELSE now() END,
         fence = fence + 1, next_attempt_at = NULL, last_error = NULL, error_kind = NULL,
         head_checkpoint_id = coalesce($3, head_checkpoint_id),
         details = details || jsonb_build_object('reason', $4::text), updated_at = now()
       WHERE thread_id = $1 AND fence = $2 RETURNING thread_id, graph_id)
     SELECT 1 AS ok, pg_notify($5, json_build_object('event', 'drained', 'schema', $6::text,
       'thread_id', u.thread_id, 'graph_id', u.graph_id)::text) FROM u`,
    [threadId, fence, headCheckpointId, reason, RUNS_CHANNEL, saver.tables.schema, reserveSeconds],
  );
  return rows.length > 0;
}

/** Whether `fence` still owns the thread's run (a stalled run checks this instead of renewing). */
export async function holdsLease(
  saver: PostgresCheckpointer,
  threadId: string,
  fence: number,
): Promise<boolean> {
  const rows = await saver.run(
    "holdsLease()",
    `SELECT 1 FROM ${saver.tables.runs}
     WHERE thread_id = $1 AND fence = $2 AND status IN ('running', 'recovering')`,
    [threadId, fence],
  );
  return rows.length > 0;
}

/**
 * Milliseconds until the next tracked thread (other than `exclude`) becomes a candidate: the
 * earliest moment a live lease expires or a backoff ends (whichever of the two is later, per
 * row); 0 when one is due already (it expired after the candidate query looked). Null when none
 * is pending. Reads the due index only.
 */
export async function msUntilNextDue(
  saver: PostgresCheckpointer,
  exclude: string[] = [],
): Promise<number | null> {
  const [row] = await saver.run<{ ms: number | null }>(
    "msUntilNextDue()",
    `SELECT extract(epoch FROM min(greatest(lease_until, coalesce(next_attempt_at, lease_until)))
       - now())::float8 * 1000 AS ms
     FROM ${saver.tables.runs}
     WHERE status IN ${ACTIVE} AND lease_until IS NOT NULL
       AND thread_id <> ALL ($1::text[])`,
    [exclude],
  );
  return row?.ms === null || row?.ms === undefined ? null : Math.max(0, Number(row.ms));
}

/** Sends a probe NOTIFY through the pool: a listener that never hears it is behind a pooler. */
export async function notifyProbe(saver: PostgresCheckpointer, probe: string): Promise<void> {
  const payload: RunsNotification = { event: "probe", schema: saver.tables.schema, probe };
  await saver.run("notifyProbe()", "SELECT pg_notify($1, $2)", [
    RUNS_CHANNEL,
    JSON.stringify(payload),
  ]);
}

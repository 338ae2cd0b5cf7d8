// Reads of one thread's ledger row (agentstate_runs): the whole row as a RunRecord, with what the
// database clock says about its lease and backoff, and the few columns single commands need.
import type { DbSeam } from "@agentstate/checkpointer";
import type { ErrorKind } from "../classify.js";
import type { RunRecord, RunStatus, ThreadFacts } from "../types.js";

type Row = Record<string, unknown>;

export const date = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string));

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
export async function readThreadFacts(db: DbSeam, threadId: string): Promise<ThreadFacts> {
  const t = db.tables;
  const [row] = await db.run<Row>(
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

/** The thread's ledger row, or undefined when it has none. */
export async function readRun(db: DbSeam, threadId: string): Promise<RunRecord | undefined> {
  const [row] = await db.run<Row>(
    "readRun()",
    `SELECT ${RUN_COLUMNS} FROM ${db.tables.runs} r WHERE r.thread_id = $1`,
    [threadId],
  );
  return row ? toRecord(row) : undefined;
}

/** The graph id the ledger recorded for the thread (null: none, or no row). */
export async function graphIdOf(db: DbSeam, threadId: string): Promise<string | null> {
  const [row] = await db.run<{ graph_id: string | null }>(
    "graphIdOf()",
    `SELECT graph_id FROM ${db.tables.runs} WHERE thread_id = $1`,
    [threadId],
  );
  return row?.graph_id ?? null;
}

/** Status and attempts of each of these threads that has a ledger row (`agentstate threads`). */
export async function ledgerStatuses(
  db: DbSeam,
  threadIds: string[],
): Promise<Map<string, { status: RunStatus; attempts: number }>> {
  const rows = await db.run<{ thread_id: string; status: RunStatus; attempts: number }>(
    "ledgerStatuses()",
    `SELECT thread_id, status, attempts FROM ${db.tables.runs} WHERE thread_id = ANY($1)`,
    [threadIds],
  );
  return new Map(rows.map((r) => [r.thread_id, { status: r.status, attempts: r.attempts }]));
}

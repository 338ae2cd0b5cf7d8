// Reads of one thread's ledger row (agentstate_runs): the whole row as a RunRecord, with what the
// database clock says about its lease and backoff (alone, or with the thread's last checkpoint
// time, its queue and its head checkpoint for classification), and the few columns single
// commands need.
import type { DbSeam, Tables } from "@agentstate/checkpointer";
import type { CheckpointTuple } from "@langchain/langgraph-checkpoint";
import type { ErrorKind } from "../classify.js";
import type { RunRecord, RunStatus, ThreadFacts } from "../types.js";
import type { ReadingSaver } from "./claims.js";

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

/** SQL: the ledger row of thread `$1` (if any) and its last checkpoint time, plus `more` columns. */
const factsSql = (t: Tables, more = "") =>
  `SELECT ${RUN_COLUMNS}, r.thread_id IS NOT NULL AS tracked, c.last_at,
       extract(epoch FROM now() - c.last_at)::float8 AS idle${more}
     FROM (SELECT max(created_at) AS last_at FROM ${t.checkpoints} WHERE thread_id = $1) c
     LEFT JOIN ${t.runs} r ON r.thread_id = $1`;

/** The ledger row and last-checkpoint time of a thread, in one round trip. */
export async function readThreadFacts(db: DbSeam, threadId: string): Promise<ThreadFacts> {
  const [row] = await db.run<Row>("readThreadFacts()", factsSql(db.tables), [threadId]);
  return toFacts(row);
}

function toFacts(row: Row | undefined): ThreadFacts {
  return {
    run: row?.tracked ? toRecord(row) : undefined,
    lastCheckpointAt: date(row?.last_at),
    idleSeconds: row?.idle === null || row?.idle === undefined ? null : Number(row.idle),
  };
}

/** What a sweep reads of a candidate first (readCandidate): ThreadFacts and two more. */
export interface CandidateFacts extends ThreadFacts {
  /** The head checkpoint (root namespace), null when the thread has none. */
  head: string | null;
  /** Whether inputs are queued behind the thread (multitask "enqueue"). */
  queued: boolean;
}

/** SQL: readThreadFacts' row of thread `$1` and whether inputs are queued, as one JSON text `v`. */
const candidateFactsSql = (t: Tables) =>
  `SELECT row_to_json(f)::text AS v FROM (${factsSql(
    t,
    `, EXISTS (SELECT 1 FROM ${t.runQueue} q WHERE q.thread_id = $1) AS queued`,
  )}) f`;

/**
 * A candidate's ledger row, last-checkpoint time and queue, and its head checkpoint tuple (what
 * getTuple returns), in ONE statement on one snapshot (the saver's getTupleWith): enough to tell
 * from the row alone a candidate another worker holds or finished since the candidate query (see
 * `classifyFromLedger`), and else everything a classification reads, so it reads nothing more.
 */
export async function readCandidate(
  saver: ReadingSaver,
  threadId: string,
): Promise<{ facts: CandidateFacts; tuple: CheckpointTuple | undefined }> {
  const { tuple, pre } = await saver.getTupleWith(
    { configurable: { thread_id: threadId } },
    "readCandidateFacts()",
    { sql: () => candidateFactsSql(saver.tables), params: [] },
  );
  const row = pre[0] === undefined ? undefined : (JSON.parse(pre[0]) as Row);
  const facts = {
    ...toFacts(row),
    head: tuple?.checkpoint.id ?? null,
    queued: Boolean(row?.queued),
  };
  return { facts, tuple };
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

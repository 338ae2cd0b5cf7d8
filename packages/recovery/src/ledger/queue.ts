// The multitask statements: the per-thread input queue (agentstate_run_queue, `enqueue`) and the
// handoff a new run asks of the thread's current run (`interrupt`, `rollback`).
import { type DbSeam, liveLease, SETTLED_STATUSES, statusList } from "@agentstate/checkpointer";
import type { ResolvedRecoveryOptions } from "../options.js";
import type { ResumeRecord } from "../types.js";
import { RUNS_CHANNEL } from "./channel.js";
import { headCheckpointSql, RESERVED } from "./claims.js";

/** The queue table (migration v18). */
export const queueTable = (db: Pick<DbSeam, "tables">) => db.tables.runQueue;

/**
 * Appends a run's input to the thread's queue if the thread is busy: a live lease, a drain
 * reserved for a handoff, or inputs already queued (so a newcomer never overtakes them). Locks
 * the ledger row, so an owner that is finishing either sees this input when it looks at the queue
 * or finished before it (then nothing is queued and the caller claims the thread itself).
 * Returns the input's 1-based position, or undefined when the thread is free.
 */
export async function enqueueInput(
  db: DbSeam,
  threadId: string,
  graphId: string | null,
  record: ResumeRecord,
): Promise<number | undefined> {
  const q = queueTable(db);
  const [row] = await db.run<{ position: number }>(
    "enqueueInput()",
    `WITH busy AS (
       SELECT r.thread_id FROM ${db.tables.runs} r
       WHERE r.thread_id = $1
         AND (${liveLease("r")} OR ${RESERVED} OR EXISTS (SELECT 1 FROM ${q} q WHERE q.thread_id = $1))
       FOR UPDATE),
     ins AS (
       INSERT INTO ${q} (thread_id, graph_id, details) SELECT $1, $2, $3::jsonb FROM busy RETURNING id)
     SELECT (SELECT count(*) FROM ${q} WHERE thread_id = $1)::int + 1 AS position FROM ins`,
    [threadId, graphId, JSON.stringify(record)],
  );
  return row ? Number(row.position) : undefined;
}

/**
 * Claims a settled thread (completed or waiting, no live lease) for its oldest queued input and
 * removes that input from the queue, in one statement: of any number of callers (the finishing
 * owner, workers, sweeps) exactly one gets it. Returns the new fence and the ledger details
 * (config and input of the queued run).
 */
export async function takeNextQueued(
  db: DbSeam,
  threadId: string,
  o: ResolvedRecoveryOptions,
): Promise<{ fence: number; details: Record<string, unknown> } | undefined> {
  const t = db.tables;
  const q = queueTable(db);
  const [row] = await db.run<{ fence: string; details: Record<string, unknown> }>(
    "takeNextQueued()",
    `WITH next AS (SELECT id, details FROM ${q} WHERE thread_id = $1 ORDER BY id LIMIT 1),
     claimed AS (
       UPDATE ${t.runs} r SET status = 'running', owner = $2,
         lease_until = now() + make_interval(secs => $3::float8), heartbeat_at = now(),
         fence = r.fence + 1, attempts = 0, next_attempt_at = NULL, last_error = NULL,
         error_kind = NULL, needs_review = false, started_at = now(), updated_at = now(),
         details = (r.details - 'attempt_head' - 'reason' - 'config' - 'input' - 'handoff')
           || (SELECT details FROM next)
           || jsonb_build_object('start_head', (${headCheckpointSql(t.checkpoints)}))
       WHERE r.thread_id = $1 AND EXISTS (SELECT 1 FROM next)
         AND r.status IN ${statusList(SETTLED_STATUSES)} AND NOT ${liveLease("r")}
       RETURNING r.fence, r.details),
     del AS (
       DELETE FROM ${q} WHERE id = (SELECT id FROM next) AND EXISTS (SELECT 1 FROM claimed))
     SELECT fence, details FROM claimed`,
    [threadId, o.owner, o.leaseSeconds],
  );
  return row ? { fence: Number(row.fence), details: row.details } : undefined;
}

/** How many inputs wait in the thread's queue. */
export async function queuedCount(db: DbSeam, threadId: string): Promise<number> {
  const [row] = await db.run<{ n: number }>(
    "queuedCount()",
    `SELECT count(*)::int AS n FROM ${queueTable(db)} WHERE thread_id = $1`,
    [threadId],
  );
  return Number(row?.n ?? 0);
}

/**
 * Asks the thread's current run to drain for the multitask request `token` (the owner sees it at
 * its next lease renewal; a worker that LISTENs at once). Returns the head the current run started
 * from (for `rollback`), or undefined when no run holds the thread any more.
 */
export async function requestHandoff(
  db: DbSeam,
  threadId: string,
  token: string,
): Promise<{ startHead: string | null; owner: string | null } | undefined> {
  const [row] = await db.run<{ start_head: string | null; owner: string | null }>(
    "requestHandoff()",
    `WITH u AS (
       UPDATE ${db.tables.runs} r SET details = r.details || jsonb_build_object('handoff', $2::text)
       WHERE r.thread_id = $1 AND ${liveLease("r")}
       RETURNING r.thread_id, r.graph_id, r.owner, r.details->>'start_head' AS start_head)
     SELECT u.start_head, u.owner, pg_notify($3, json_build_object('event', 'handoff', 'schema',
       $4::text, 'thread_id', u.thread_id, 'graph_id', u.graph_id)::text) FROM u`,
    [threadId, token, RUNS_CHANNEL, db.tables.schema],
  );
  return row ? { startHead: row.start_head ?? null, owner: row.owner ?? null } : undefined;
}

/** Withdraws a handoff request that gave up waiting (a reservation for it then lapses unused). */
export async function cancelHandoff(db: DbSeam, threadId: string, token: string): Promise<void> {
  await db.run(
    "cancelHandoff()",
    `UPDATE ${db.tables.runs} SET details = details - 'handoff'
     WHERE thread_id = $1 AND details->>'handoff' = $2`,
    [threadId, token],
  );
}

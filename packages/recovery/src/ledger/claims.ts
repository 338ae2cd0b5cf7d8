// The claims: the one conditional statement each by which a run takes a thread — a new run the app
// starts, a recovery of a stuck thread, a restart of a run that died before its first checkpoint.
// Each bumps the fence, so writes of any earlier owner are refused from then on.
import {
  type DbSeam,
  type FirstRead,
  LEASED_STATUSES,
  liveLease,
  type PostgresCheckpointer,
  statusList,
  type Tables,
} from "@agentstate/checkpointer";
import type { RunnableConfig } from "@langchain/core/runnables";
import type { ResolvedRecoveryOptions } from "../options.js";
import type { ResumeRecord } from "../types.js";
import { backoffParams, backoffSql } from "./backoff.js";

/**
 * SQL: a drained row whose lease is still in the future is reserved for the multitask request
 * that asked for the drain (`details.handoff`): only a claim carrying that token may take it.
 */
export const RESERVED = `(r.status = 'drained' AND r.lease_until > now())`;

/** SQL: the head checkpoint of thread `$1` (root namespace). */
export const headCheckpointSql = (checkpoints: string) =>
  `SELECT checkpoint_id FROM ${checkpoints}
   WHERE thread_id = $1 AND checkpoint_ns = '' ORDER BY checkpoint_id DESC LIMIT 1`;

/** What a claim returns: the fence its writes carry, and the attempt it is. */
export interface Claim {
  fence: number;
  attempts: number;
}

export interface RunClaim {
  threadId: string;
  options: ResolvedRecoveryOptions;
  /** Stored in the row so a resume in any process runs as this run was started. */
  resume?: ResumeRecord;
  /** The token of the multitask request a drain reserved the thread for. */
  handoff?: string | null;
}

/**
 * SQL of claimForRun. Parameters: $1 the thread id, then owner, lease seconds, graph id, resume
 * record and handoff token from `$first` on; returns the new fence as `v`. `withRead`: the claim
 * rides on the run's first getTuple (see claimAndRead), and so takes the thread only where that
 * read, made on the statement's snapshot, cannot miss a write: no run held the thread (no ledger
 * row, or a status no lease writes under) and the row did not change after the snapshot (xmin).
 */
function runClaimSql(t: Tables, first: number, withRead: boolean): string {
  const [owner, lease, graph, resume, handoff] = [0, 1, 2, 3, 4].map((i) => `$${first + i}`);
  const quiet = withRead
    ? `AND r.xmin = (SELECT x FROM seen) AND (SELECT status FROM seen) NOT IN ${statusList(LEASED_STATUSES)}`
    : "";
  return `WITH head AS (SELECT jsonb_build_object('start_head', (${headCheckpointSql(t.checkpoints)})) AS d)
     ${withRead ? `, seen AS (SELECT xmin AS x, status FROM ${t.runs} WHERE thread_id = $1)` : ""}
     INSERT INTO ${t.runs} AS r (thread_id, status, owner, lease_until, heartbeat_at, fence,
       attempts, graph_id, started_at, updated_at, details)
     SELECT $1, 'running', ${owner}, now() + make_interval(secs => ${lease}::float8), now(), 1, 0,
       ${graph}, now(), now(), ${resume}::jsonb || head.d FROM head
     ON CONFLICT (thread_id) DO UPDATE SET status = 'running', owner = ${owner},
       lease_until = now() + make_interval(secs => ${lease}::float8), heartbeat_at = now(),
       fence = r.fence + 1, attempts = 0, next_attempt_at = NULL, last_error = NULL,
       error_kind = NULL, needs_review = false, graph_id = coalesce(${graph}, r.graph_id),
       started_at = now(), updated_at = now(),
       details = (r.details - 'attempt_head' - 'reason' - 'config' - 'input' - 'handoff')
         || EXCLUDED.details
     WHERE NOT ${liveLease("r")}
       AND NOT (${RESERVED} AND r.details->>'handoff' IS DISTINCT FROM ${handoff}::text) ${quiet}
     RETURNING r.fence AS v`;
}

const runClaimParams = ({ options: o, resume = {}, handoff = null }: RunClaim) => [
  o.owner,
  o.leaseSeconds,
  o.graphId ?? null,
  JSON.stringify(resume),
  handoff,
];

/**
 * Claims a thread for a new run started by the application. Succeeds unless another owner holds
 * a live lease (or a drain reserved it for another multitask request than `handoff`); bumps the
 * fence so any earlier owner's writes are rejected from now on. Records the head checkpoint the
 * run starts from (`details.start_head`, what a `rollback` forks from).
 */
export async function claimForRun(
  db: DbSeam,
  claim: RunClaim,
): Promise<{ fence: number } | undefined> {
  const rows = await db.run<{ v: string }>(
    "claimForRun()",
    runClaimSql(db.tables, 2, false),
    [claim.threadId, ...runClaimParams(claim)],
    { prepare: true }, // once per durable run
  );
  return rows[0] ? { fence: Number(rows[0].v) } : undefined;
}

/** What claimAndRead needs of the saver: a claim and getTuple as one statement. */
export type ReadingSaver = Pick<PostgresCheckpointer, "tables" | "getTupleWith">;

/**
 * claimForRun and the run's first getTuple (`config`) in one statement, on one snapshot: the
 * claim costs no round trip of its own. Undefined when it did not claim — the thread is held, or
 * was held or changed too recently for the read to be trusted: claimForRun then decides.
 */
export async function claimAndRead(
  saver: ReadingSaver,
  claim: RunClaim,
  config: RunnableConfig,
): Promise<{ fence: number; firstRead: FirstRead } | undefined> {
  const c = config.configurable ?? {};
  const { tuple, pre } = await saver.getTupleWith(config, "claimForRun()", {
    sql: (first) => runClaimSql(saver.tables, first, true),
    params: runClaimParams(claim),
  });
  if (pre[0] === undefined) return undefined;
  const firstRead: FirstRead = {
    threadId: claim.threadId,
    checkpointNs: c.checkpoint_ns ?? "",
    checkpointId: c.checkpoint_id || undefined,
    tuple,
  };
  return { fence: Number(pre[0]), firstRead };
}

export interface RecoveryClaim {
  threadId: string;
  /** The head checkpoint the thread was classified at: the claim fails if it moved. */
  expectedHead: string;
  graphId: string | null;
  options: ResolvedRecoveryOptions;
}

/** SQL: no live lease, no reservation, and (unless forced, `$force`) not dead and due. */
const claimable = (force: string) => `NOT ${liveLease("r")} AND NOT ${RESERVED}
       AND (${force}::boolean OR r.status <> 'dead')
       AND (${force}::boolean OR r.next_attempt_at IS NULL OR r.next_attempt_at <= now())`;

/**
 * Claims a stuck thread for recovery with one statement: only if no live lease is held, the
 * thread is due (or forced), and its head checkpoint is still `expectedHead` — so of several
 * workers racing, exactly one gets a row back. Works for threads that have no ledger row yet.
 * Attempts restart at 1 when the head moved since the previous attempt.
 */
export async function claimForRecovery(
  db: DbSeam,
  { threadId, expectedHead, graphId, options: o }: RecoveryClaim,
): Promise<Claim | undefined> {
  const t = db.tables;
  // A drained run stopped on purpose: resuming it is not another attempt.
  const attemptsExpr = `CASE WHEN r.status = 'drained' THEN r.attempts
    WHEN r.details->>'attempt_head' IS DISTINCT FROM $4 THEN 1 ELSE r.attempts + 1 END`;
  const rows = await db.run<{ fence: string; attempts: number }>(
    "claimForRecovery()",
    `WITH head AS (${headCheckpointSql(t.checkpoints)})
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
     WHERE ${claimable("$6")}
     RETURNING r.fence, r.attempts`,
    [threadId, o.owner, o.leaseSeconds, expectedHead, graphId, o.force, ...backoffParams(o)],
    { prepare: true }, // one text per schema, run once per recovered thread
  );
  return rows[0] ? { fence: Number(rows[0].fence), attempts: Number(rows[0].attempts) } : undefined;
}

/**
 * Claims a tracked thread that has no checkpoint at all (its run died before the first one) to
 * start it again from its stored input: same guards as claimForRecovery, plus "still no checkpoint".
 */
export async function claimUnstarted(
  db: DbSeam,
  threadId: string,
  o: ResolvedRecoveryOptions,
): Promise<Claim | undefined> {
  const t = db.tables;
  const rows = await db.run<{ fence: string; attempts: number }>(
    "claimUnstarted()",
    `UPDATE ${t.runs} AS r SET status = 'recovering', owner = $2,
       lease_until = now() + make_interval(secs => $3::float8), heartbeat_at = now(),
       fence = r.fence + 1,
       attempts = r.attempts + 1,
       next_attempt_at = now() + make_interval(secs => ${backoffSql("r.attempts + 1", 5)}),
       needs_review = false, details = r.details - 'handoff', updated_at = now()
     WHERE r.thread_id = $1 AND ${claimable("$4")}
       AND NOT EXISTS (SELECT 1 FROM ${t.checkpoints} c WHERE c.thread_id = $1 AND c.checkpoint_ns = '')
     RETURNING r.fence, r.attempts`,
    [threadId, o.owner, o.leaseSeconds, o.force, ...backoffParams(o)],
  );
  return rows[0] ? { fence: Number(rows[0].fence), attempts: Number(rows[0].attempts) } : undefined;
}

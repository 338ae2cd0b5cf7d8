// The sweep's candidate queries: which threads are worth classifying through their graph, read
// from partial indexes only, so a sweep costs the same with 10 or 10 million completed threads.
import {
  type DbSeam,
  DUE_STATUSES,
  SETTLED_STATUSES,
  statusList,
  type Tables,
} from "@agentstate/checkpointer";
import { queueTable } from "./queue.js";

/** A thread worth classifying, from the index-backed candidate queries. */
export interface Candidate {
  threadId: string;
  graphId: string | null;
  tracked: boolean;
}

export interface CandidateQuery {
  /** Only threads idle (lease expired / last checkpoint) for at least this many seconds. */
  olderThanSeconds: number;
  limit: number;
  /** Also look at threads without a ledger row (cost grows with the checkpoint count). */
  includeUntracked: boolean;
  graceSeconds: number;
  /** Include threads whose backoff has not elapsed yet. */
  includeDeferred: boolean;
  /** Thread ids to leave out (a sweep's already-handled ones). */
  exclude?: string[];
}

/**
 * The two candidate queries, exported so benchmarks can EXPLAIN exactly what runs.
 * Ledger candidates come from the partial indexes on lease_until (drained rows, then the due
 * index's statuses; completed threads cost nothing), then settled threads with queued inputs
 * (multitask "enqueue" whose owner died between two runs). Untracked candidates — no ledger row,
 * or a completed/waiting row older than the thread's last checkpoint — come from the
 * (thread_id, created_at) index.
 * Params: tracked ($1 older-than s, $2 limit, $3 include deferred, $4 excluded ids);
 * untracked ($1 older-than s, $2 grace s, $3 limit, $4 excluded ids).
 */
export function candidateSql(t: Tables): { tracked: string; untracked: string } {
  const settled = statusList(SETTLED_STATUSES);
  return {
    // Drained threads first (a deploy handing work over), from their own partial index.
    tracked: `(SELECT thread_id, graph_id FROM ${t.runs}
       WHERE status = 'drained' AND lease_until < now() - make_interval(secs => $1::float8)
         AND thread_id <> ALL ($4::text[])
       ORDER BY lease_until LIMIT $2)
     UNION ALL
     (SELECT thread_id, graph_id FROM ${t.runs}
       WHERE status IN ${statusList(DUE_STATUSES)} AND lease_until < now() - make_interval(secs => $1::float8)
         AND ($3::boolean OR next_attempt_at IS NULL OR next_attempt_at <= now())
         AND thread_id <> ALL ($4::text[])
       ORDER BY lease_until LIMIT $2)
     UNION ALL
     (SELECT q.thread_id, max(q.graph_id) FROM ${queueTable({ tables: t })} q
       JOIN ${t.runs} r ON r.thread_id = q.thread_id AND r.status IN ${settled}
       WHERE q.thread_id <> ALL ($4::text[])
       GROUP BY q.thread_id ORDER BY min(q.id) LIMIT $2)
     LIMIT $2`,
    // Two anti/semi-joins rather than one outer join, so each side is an index-only scan:
    // the primary key for "no row at all", agentstate_runs_settled_idx for stale settled rows.
    untracked: `WITH a AS MATERIALIZED (
       SELECT thread_id, max(created_at) AS last_at FROM ${t.checkpoints} GROUP BY thread_id)
     SELECT thread_id, graph_id FROM (
       SELECT a.thread_id, NULL::text AS graph_id, a.last_at FROM a
       WHERE NOT EXISTS (SELECT 1 FROM ${t.runs} r WHERE r.thread_id = a.thread_id)
       UNION ALL
       SELECT a.thread_id, r.graph_id, a.last_at FROM a
       JOIN ${t.runs} r ON r.thread_id = a.thread_id AND r.status IN ${settled}
       WHERE a.last_at > r.updated_at) c
     WHERE last_at < now() - make_interval(secs => greatest($1::float8, $2::float8))
       AND thread_id <> ALL ($4::text[])
     ORDER BY last_at LIMIT $3`,
  };
}

export async function findCandidates(db: DbSeam, q: CandidateQuery): Promise<Candidate[]> {
  const sql = candidateSql(db.tables);
  const exclude = q.exclude ?? [];
  const tracked = await db.run<{ thread_id: string; graph_id: string | null }>(
    "findCandidates()",
    sql.tracked,
    [q.olderThanSeconds, q.limit, q.includeDeferred, exclude],
  );
  const out: Candidate[] = tracked.map((r) => ({
    threadId: r.thread_id,
    graphId: r.graph_id,
    tracked: true,
  }));
  if (!q.includeUntracked || out.length >= q.limit) return out;
  const untracked = await db.run<{ thread_id: string; graph_id: string | null }>(
    "findCandidates()",
    sql.untracked,
    [q.olderThanSeconds, q.graceSeconds, q.limit - out.length, exclude],
  );
  for (const r of untracked) {
    out.push({ threadId: r.thread_id, graphId: r.graph_id, tracked: false });
  }
  return out;
}

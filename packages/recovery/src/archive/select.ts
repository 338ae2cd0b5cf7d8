// Which threads may go to the cold tier: the state of each candidate, from its ledger row or, for
// threads without one, from its latest checkpoint alone (no graph needed) — one query per batch.
import { type DbSeam, SETTLED_STATUSES, statusList } from "@agentstate/checkpointer";

/** Thread states as archive sees them (the ledger's vocabulary; expired leases count as crashed). */
export type ArchiveState =
  | "completed"
  | "waiting"
  | "failed"
  | "crashed"
  | "running"
  | "drained"
  | "dead";

export const ARCHIVE_STATES: readonly ArchiveState[] = [
  "completed",
  "waiting",
  "failed",
  "crashed",
  "running",
  "drained",
  "dead",
];

export interface ArchiveCandidate {
  threadId: string;
  /** "not_found": no rows at all; "archived": only the archive holds it. */
  state: ArchiveState | "not_found" | "archived";
  lastActivityAt: Date | null;
  /** A run holds a live lease on it right now. */
  leaseLive: boolean;
  /** It has rows in Postgres and an archive-index row still saying "archived" (never overwritten). */
  archiveConflict: boolean;
}

/**
 * A channel that triggers a node when it holds a value: the edge channels of StateGraph
 * (`branch:to:<node>`, `join:<a>+<b>:<node>`), the input (`__start__`) and Sends (`__pregel_tasks`).
 * LangGraph empties them when the node runs, so a value at the head means work is pending.
 */
const TRIGGER = `(v.key LIKE 'branch:to:%' OR v.key LIKE 'join:%' OR v.key IN ('__start__', '__pregel_tasks'))`;

/**
 * The state of each thread. Ledger rows decide, unless stale (a completed/waiting row older than
 * the last checkpoint: the thread ran again without the ledger). Otherwise, from the latest root
 * checkpoint: an `__interrupt__` write → waiting, an `__error__` write → failed, any other pending
 * write or a trigger channel holding a value → crashed (work pending), else → completed.
 */
export async function classifyForArchive(
  db: DbSeam,
  threadIds: string[],
): Promise<Map<string, ArchiveCandidate>> {
  const t = db.tables;
  const rows = await db.run<{
    thread_id: string;
    last_at: string | null;
    has_root: boolean;
    status: string | null;
    lease_live: boolean;
    stale: boolean;
    archive_status: string | null;
    write_channels: string[] | null;
    triggered: boolean;
  }>(
    "classifyForArchive()",
    `SELECT i.thread_id, l.last_at, h.checkpoint_id IS NOT NULL AS has_root, r.status,
       coalesce(r.lease_until > now(), false) AS lease_live,
       coalesce(r.status IN ${statusList(SETTLED_STATUSES)} AND l.last_at > r.updated_at, false) AS stale,
       a.status AS archive_status,
       ARRAY(SELECT DISTINCT w.channel FROM ${t.writes} w WHERE w.thread_id = i.thread_id
         AND w.checkpoint_ns = '' AND w.checkpoint_id = h.checkpoint_id) AS write_channels,
       EXISTS (SELECT 1 FROM jsonb_each_text(h.checkpoint -> 'channel_versions') v
         JOIN ${t.blobs} b ON b.thread_id = i.thread_id AND b.checkpoint_ns = '' AND b.channel = v.key
           AND b.version = v.value
         WHERE ${TRIGGER} AND b.type <> 'empty') AS triggered
     FROM unnest($1::text[]) AS i(thread_id)
     LEFT JOIN LATERAL (SELECT max(created_at) AS last_at FROM ${t.checkpoints} c
       WHERE c.thread_id = i.thread_id) l ON true
     LEFT JOIN LATERAL (SELECT checkpoint_id, checkpoint FROM ${t.checkpoints} c
       WHERE c.thread_id = i.thread_id AND c.checkpoint_ns = ''
       ORDER BY checkpoint_id DESC LIMIT 1) h ON true
     LEFT JOIN ${t.runs} r ON r.thread_id = i.thread_id
     LEFT JOIN ${t.archives} a ON a.thread_id = i.thread_id`,
    [threadIds],
  );
  const out = new Map<string, ArchiveCandidate>();
  for (const r of rows) {
    const hot = r.last_at !== null || r.status !== null;
    const lastActivityAt = r.last_at ? new Date(r.last_at) : null;
    const base = { threadId: r.thread_id, lastActivityAt, leaseLive: Boolean(r.lease_live) };
    if (!hot) {
      const state = r.archive_status === "archived" ? "archived" : "not_found";
      out.set(r.thread_id, { ...base, state, archiveConflict: false });
      continue;
    }
    let state: ArchiveState;
    if (r.status !== null && !r.stale) {
      state =
        r.status === "running" || r.status === "recovering"
          ? r.lease_live
            ? "running"
            : "crashed"
          : (r.status as ArchiveState);
    } else {
      const writes = r.write_channels ?? [];
      if (!r.has_root) state = "crashed";
      else if (writes.includes("__interrupt__")) state = "waiting";
      else if (writes.includes("__error__")) state = "failed";
      else state = writes.length > 0 || r.triggered ? "crashed" : "completed";
    }
    out.set(r.thread_id, { ...base, state, archiveConflict: r.archive_status === "archived" });
  }
  return out;
}

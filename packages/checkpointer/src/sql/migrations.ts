// The schema's migrations as named, numbered entries: what setup() runs, what
// `setup --print-sql` prints, what the README's migrations table lists (checked by a test).
import type { Tables } from "./identifiers.js";

export interface Migration {
  /**
   * The `checkpoint_migrations.v` row it records. Dense from 0; a released version never
   * changes number or SQL (test/migrations.test.ts keeps a fingerprint of each).
   */
  readonly version: number;
  /** Unique, kebab-case: printed as a SQL comment and listed in the README. */
  readonly name: string;
  /** Statements, run in order inside the migration transaction. */
  readonly sql: readonly string[];
}

/**
 * Migrations by version number. v0–v4 mean what they mean in the official JS and Python
 * savers; v5–v9 mean what they mean in the Python saver (which JS lacks); v10+ are ours.
 * All are additive, so either official saver keeps working on a schema we migrated.
 * Python builds v6–v8 CONCURRENTLY; we run every migration inside one locked transaction,
 * so ours build the same indexes (same names) without CONCURRENTLY.
 * A new migration goes at the end, with the next version number.
 */
export function migrations(t: Tables): readonly Migration[] {
  return [
    {
      version: 0,
      name: "migrations-table",
      sql: [`CREATE TABLE IF NOT EXISTS ${t.migrations} (v INTEGER PRIMARY KEY)`],
    },
    {
      version: 1,
      name: "checkpoints",
      sql: [
        `CREATE TABLE IF NOT EXISTS ${t.checkpoints} (
      thread_id TEXT NOT NULL,
      checkpoint_ns TEXT NOT NULL DEFAULT '',
      checkpoint_id TEXT NOT NULL,
      parent_checkpoint_id TEXT,
      type TEXT,
      checkpoint JSONB NOT NULL,
      metadata JSONB NOT NULL DEFAULT '{}',
      PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id)
    )`,
      ],
    },
    {
      version: 2,
      name: "checkpoint-blobs",
      sql: [
        `CREATE TABLE IF NOT EXISTS ${t.blobs} (
      thread_id TEXT NOT NULL,
      checkpoint_ns TEXT NOT NULL DEFAULT '',
      channel TEXT NOT NULL,
      version TEXT NOT NULL,
      type TEXT NOT NULL,
      blob BYTEA,
      PRIMARY KEY (thread_id, checkpoint_ns, channel, version)
    )`,
      ],
    },
    {
      version: 3,
      name: "checkpoint-writes",
      sql: [
        `CREATE TABLE IF NOT EXISTS ${t.writes} (
      thread_id TEXT NOT NULL,
      checkpoint_ns TEXT NOT NULL DEFAULT '',
      checkpoint_id TEXT NOT NULL,
      task_id TEXT NOT NULL,
      idx INTEGER NOT NULL,
      channel TEXT NOT NULL,
      type TEXT,
      blob BYTEA NOT NULL,
      PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, idx)
    )`,
      ],
    },
    {
      version: 4,
      name: "blobs-nullable",
      sql: [`ALTER TABLE ${t.blobs} ALTER COLUMN blob DROP NOT NULL`],
    },
    // Python: a no-op placeholder
    { version: 5, name: "python-placeholder", sql: ["SELECT 1"] },
    // v6–v8, Python: thread_id indexes
    {
      version: 6,
      name: "checkpoints-thread-id-index",
      sql: [`CREATE INDEX IF NOT EXISTS checkpoints_thread_id_idx ON ${t.checkpoints} (thread_id)`],
    },
    {
      version: 7,
      name: "blobs-thread-id-index",
      sql: [`CREATE INDEX IF NOT EXISTS checkpoint_blobs_thread_id_idx ON ${t.blobs} (thread_id)`],
    },
    {
      version: 8,
      name: "writes-thread-id-index",
      sql: [
        `CREATE INDEX IF NOT EXISTS checkpoint_writes_thread_id_idx ON ${t.writes} (thread_id)`,
      ],
    },
    // Python: task_path, so pending writes replay in live-execution order
    {
      version: 9,
      name: "writes-task-path",
      sql: [`ALTER TABLE ${t.writes} ADD COLUMN IF NOT EXISTS task_path TEXT NOT NULL DEFAULT ''`],
    },
    // Ours from here. A timestamp per checkpoint: existing rows take the checkpoint's own `ts`;
    // rows written later by either saver get now() from the default.
    {
      version: 10,
      name: "checkpoints-created-at",
      sql: [
        `ALTER TABLE ${t.checkpoints} ADD COLUMN IF NOT EXISTS created_at TIMESTAMPTZ`,
        `UPDATE ${t.checkpoints} SET created_at = CASE
         WHEN checkpoint->>'ts' ~ '^\\d{4}-\\d{2}-\\d{2}T' THEN (checkpoint->>'ts')::timestamptz
         ELSE now() END
       WHERE created_at IS NULL`,
        `ALTER TABLE ${t.checkpoints} ALTER COLUMN created_at SET DEFAULT now()`,
        `ALTER TABLE ${t.checkpoints} ALTER COLUMN created_at SET NOT NULL`,
      ],
    },
    // What stats, TTL, listThreads and recovery sweeps read, so none scans blobs.
    {
      version: 11,
      name: "checkpoints-activity-indexes",
      sql: [
        `CREATE INDEX IF NOT EXISTS checkpoints_created_at_idx ON ${t.checkpoints} (created_at)`,
        `CREATE INDEX IF NOT EXISTS checkpoints_thread_activity_idx ON ${t.checkpoints} (thread_id, created_at)`,
      ],
    },
    // The run ledger used by @agentstate/recovery (leases, fencing, attempts).
    {
      version: 12,
      name: "runs",
      sql: [
        `CREATE TABLE IF NOT EXISTS ${t.runs} (
      thread_id TEXT PRIMARY KEY,
      status TEXT NOT NULL DEFAULT 'running'
        CHECK (status IN ('running','completed','waiting','failed','crashed','recovering','dead')),
      owner TEXT,
      lease_until TIMESTAMPTZ,
      heartbeat_at TIMESTAMPTZ,
      fence BIGINT NOT NULL DEFAULT 0,
      attempts INTEGER NOT NULL DEFAULT 0,
      next_attempt_at TIMESTAMPTZ,
      last_error TEXT,
      error_kind TEXT,
      needs_review BOOLEAN NOT NULL DEFAULT false,
      graph_id TEXT,
      head_checkpoint_id TEXT,
      started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      details JSONB NOT NULL DEFAULT '{}'
    )`,
        `CREATE INDEX IF NOT EXISTS agentstate_runs_sweep_idx ON ${t.runs} (lease_until)
        WHERE status IN ('running','recovering','crashed','failed')`,
      ],
    },
    // Effect receipts, so a tool's side effect runs once per tool_call_id.
    {
      version: 13,
      name: "receipts",
      sql: [
        `CREATE TABLE IF NOT EXISTS ${t.receipts} (
      thread_id TEXT NOT NULL,
      tool_call_id TEXT NOT NULL,
      status TEXT NOT NULL DEFAULT 'started' CHECK (status IN ('started','done')),
      result JSONB,
      created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      completed_at TIMESTAMPTZ,
      PRIMARY KEY (thread_id, tool_call_id)
    )`,
      ],
    },
    // For @agentstate/recovery's sweep: the candidate queries read indexes only. The due index
    // covers what the ledger query returns, so it replaces v12's sweep index (one index on
    // lease_until, not two, on a row every leased write updates). The settled index serves the
    // untracked-thread query; guarded writes never touch it (running rows only).
    {
      version: 14,
      name: "runs-sweep-indexes",
      sql: [
        `CREATE INDEX IF NOT EXISTS agentstate_runs_due_idx ON ${t.runs} (lease_until)
        INCLUDE (thread_id, graph_id, next_attempt_at)
        WHERE status IN ('running','recovering','crashed','failed')`,
        `DROP INDEX IF EXISTS ${t.schema}.agentstate_runs_sweep_idx`,
        `CREATE INDEX IF NOT EXISTS agentstate_runs_settled_idx ON ${t.runs} (thread_id)
        INCLUDE (updated_at, graph_id) WHERE status IN ('completed','waiting')`,
      ],
    },
    // For @agentstate/recovery's archive/restore: what was moved to the cold tier and where.
    // getTuple probes it by primary key, only when a thread has no checkpoint.
    {
      version: 15,
      name: "archives",
      sql: [
        `CREATE TABLE IF NOT EXISTS ${t.archives} (
      thread_id TEXT PRIMARY KEY,
      status TEXT NOT NULL DEFAULT 'archived' CHECK (status IN ('archived','restored')),
      location TEXT NOT NULL,
      object_key TEXT NOT NULL,
      bytes BIGINT NOT NULL,
      sha256 TEXT NOT NULL,
      format_version INTEGER NOT NULL,
      counts JSONB NOT NULL DEFAULT '{}',
      archived_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      restored_at TIMESTAMPTZ
    )`,
      ],
    },
    // For @agentstate/recovery's graceful drain: a run stopped by a deploy at a superstep
    // boundary is `drained` (resumable at once, not a crash). Widens the status CHECK; the due
    // index of v14 stays as it is, drained rows get their own small partial index.
    {
      version: 16,
      name: "runs-drained",
      sql: [
        `ALTER TABLE ${t.runs} DROP CONSTRAINT IF EXISTS agentstate_runs_status_check`,
        `ALTER TABLE ${t.runs} ADD CONSTRAINT agentstate_runs_status_check CHECK (status IN
        ('running','completed','waiting','failed','crashed','recovering','dead','drained'))`,
        `CREATE INDEX IF NOT EXISTS agentstate_runs_drained_idx ON ${t.runs} (lease_until)
        INCLUDE (thread_id, graph_id) WHERE status = 'drained'`,
      ],
    },
    // For `storage: "compact"`: a read fetches a compact value's whole chain (rows typed
    // "agentstate-append:<root version>") with one scan of this small partial index. It holds
    // compact rows only, so default-mode writes never touch it.
    {
      version: 17,
      name: "blobs-chain-index",
      sql: [
        `CREATE INDEX IF NOT EXISTS checkpoint_blobs_chain_idx ON ${t.blobs}
      (thread_id, checkpoint_ns, channel, type) WHERE type LIKE 'agentstate-append:%'`,
      ],
    },
    // For @agentstate/recovery's multitask "enqueue": inputs sent to a thread while a run held
    // it, run after it in id order. `details` is the run's resume record (config and the input
    // serialized with the checkpointer's serde); a row is deleted by the claim that runs it.
    {
      version: 18,
      name: "run-queue",
      sql: [
        `CREATE TABLE IF NOT EXISTS ${t.schema}.agentstate_run_queue (
        id BIGSERIAL PRIMARY KEY,
        thread_id TEXT NOT NULL,
        graph_id TEXT,
        details JSONB NOT NULL DEFAULT '{}',
        enqueued_at TIMESTAMPTZ NOT NULL DEFAULT now()
      )`,
        `CREATE INDEX IF NOT EXISTS agentstate_run_queue_thread_idx
        ON ${t.schema}.agentstate_run_queue (thread_id, id)`,
      ],
    },
  ];
}

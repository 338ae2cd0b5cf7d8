// The write statements (put, putWrites, group commit) beside the typed rows they carry: each row
// type has its column types and its toParams side by side, so a statement's parameter layout is
// read in one place.
import type { Tables } from "./identifiers.js";
import { leasedStatus } from "./runs.js";
import { valuesRows } from "./statements.js";

/** One channel value of a put: (channel, version) names it, so it is inserted if absent. */
export interface BlobRow {
  channel: string;
  version: string;
  /** Serializer type, "empty" for a channel without a value, or a compact append type. */
  type: string;
  blob: Uint8Array | null;
}

/** A checkpoint row; checkpoint and metadata are JSON text, NUL-safe (see nul.ts). */
export interface CheckpointRow {
  threadId: string;
  ns: string;
  checkpointId: string;
  parentId: string | null;
  checkpoint: string;
  metadata: string;
}

/** The task a putWrites call writes for. */
export interface TaskRef {
  threadId: string;
  ns: string;
  checkpointId: string;
  taskId: string;
  taskPath: string;
}

/** One pending write; special channels (negative idx) upsert, regular ones keep the first. */
export interface WriteRow {
  channel: string;
  idx: number;
  type: string;
  blob: Uint8Array;
}

/** A durable run's lease (see attachLease): the write lands only while the run still holds `fence`. */
export interface Guard {
  fence: number | string;
  leaseSeconds: number;
}

/**
 * A durable run's recorded outcome (@agentstate/recovery's finishRun): its ledger row settles,
 * the lease is released, and the result says whether inputs are queued behind it. Lands only
 * while the run still holds `fence`.
 */
export interface OutcomeRow {
  threadId: string;
  fence: number | string;
  status: "completed" | "waiting" | "failed" | "dead";
  headCheckpointId: string | null;
  error: string | null;
  /** For failed: when the next attempt may start. */
  retryInSeconds: number | null;
  errorKind: string | null;
  needsReview: boolean;
  reason: string | null;
}

/** What an outcome's statement returns: undefined when the run no longer held its fence. */
export type OutcomeResult = { queued: boolean } | undefined;

export type WriteJob =
  | { kind: "put"; checkpoint: CheckpointRow; blobs: BlobRow[]; guard?: Guard }
  | { kind: "writes"; task: TaskRef; special: WriteRow[]; regular: WriteRow[]; guard?: Guard }
  | { kind: "outcome"; outcome: OutcomeRow };

const BLOB = {
  types: ["text", "text", "text", "bytea"],
  params: (b: BlobRow): unknown[] => [b.channel, b.version, b.type, b.blob],
} as const;
const CHECKPOINT = {
  types: ["text", "text", "text", "text", "jsonb", "jsonb"],
  params: (c: CheckpointRow): unknown[] => [
    c.threadId,
    c.ns,
    c.checkpointId,
    c.parentId,
    c.checkpoint,
    c.metadata,
  ],
} as const;
const TASK = {
  types: ["text", "text", "text", "text", "text"],
  params: (t: TaskRef): unknown[] => [t.threadId, t.ns, t.checkpointId, t.taskId, t.taskPath],
} as const;
const WRITE = {
  types: ["text", "integer", "text", "bytea"],
  params: (w: WriteRow): unknown[] => [w.channel, w.idx, w.type, w.blob],
} as const;
const OUTCOME = {
  types: ["text", "bigint", "text", "text", "text", "float8", "text", "boolean", "text"],
  params: (o: OutcomeRow): unknown[] => [
    o.threadId,
    o.fence,
    o.status,
    o.headCheckpointId,
    o.error,
    o.retryInSeconds,
    o.errorKind,
    o.needsReview,
    o.reason,
  ],
} as const;
const GUARD = {
  types: ["bigint"],
  params: (g: Guard): unknown[] => [g.fence],
} as const;

/**
 * Rows a single put or putWrites may carry for its statement to be prepared (see
 * QueryOptions.prepare): the usual shapes, so a connection keeps a few dozen statements.
 */
const PREPARED_ROWS = 16;

/** Statement texts by shape, per table set: built once, and the same string every time. */
const texts = new WeakMap<Tables, Map<string, string>>();
function memo(t: Tables, key: string, build: () => string): string {
  let known = texts.get(t);
  if (!known) {
    known = new Map();
    texts.set(t, known);
  }
  let sql = known.get(key);
  if (sql === undefined) {
    sql = build();
    known.set(key, sql);
  }
  return sql;
}

/** A put alone: $1–$6 the checkpoint row, then the guard (if any), then 4 per blob. */
export function putStatement(t: Tables, job: Extract<WriteJob, { kind: "put" }>) {
  const params = CHECKPOINT.params(job.checkpoint);
  if (job.guard) params.push(...GUARD.params(job.guard));
  for (const b of job.blobs) params.push(...BLOB.params(b));
  const n = job.blobs.length;
  const guarded = !!job.guard;
  if (n > PREPARED_ROWS) return { sql: putSql(t, n, guarded), params, prepare: false };
  const sql = memo(t, `put:${n}:${guarded}`, () => putSql(t, n, guarded));
  return { sql, params, prepare: true };
}

/** A task's writes alone: $1–$5 the task, then the guard (if any), then 4 per write, special first. */
export function putWritesStatement(
  t: Tables,
  task: TaskRef,
  special: readonly WriteRow[],
  regular: readonly WriteRow[],
  guard: Guard | undefined,
) {
  const params = TASK.params(task);
  if (guard) params.push(...GUARD.params(guard));
  for (const w of special) params.push(...WRITE.params(w));
  for (const w of regular) params.push(...WRITE.params(w));
  const [s, r, g] = [special.length, regular.length, !!guard];
  if (s + r > PREPARED_ROWS) return { sql: putWritesSql(t, s, r, g), params, prepare: false };
  const sql = memo(t, `writes:${s}:${r}:${g}`, () => putWritesSql(t, s, r, g));
  return { sql, params, prepare: true };
}

/** Parameters of a putWrites statement before its write rows (task, then guard). */
export function putWritesHeadParams(guarded: boolean): number {
  return TASK.types.length + (guarded ? GUARD.types.length : 0);
}

/** Parameters one write row adds to a putWrites statement. */
export const WRITE_ROW_PARAMS = WRITE.types.length;

/**
 * Lease piggyback. A write proves the writer still holds the fence under a share lock on the
 * run's ledger row, so a takeover (an UPDATE of that row) either waits for the write to commit
 * or, having committed first, makes the write fail: a takeover is never followed by a write of
 * the old owner, checkpoint or task writes. Share locks do not conflict with one another, so
 * parallel tasks of one step never wait on each other. Renewing the lease is the lease keeper's
 * (on a timer, while the run makes progress), so a write changes nothing in the ledger or its
 * indexes.
 *
 * A guarded statement returns no rows: its top-level INSERT reads the guard, so the command
 * tag's row count says whether it held (see guardProven). Against a last SELECT over the guard,
 * with the checkpoint's upsert moved into a WITH clause, this saves about 60 % of what the guard
 * costs a put (0.02 ms of 0.04 ms a statement, measured on this machine).
 */
function guardCte(t: Tables, fenceParam: number): string {
  return `guard AS (SELECT 1 FROM ${t.runs} WHERE ${guardLive(fenceParam)} FOR SHARE)`;
}

/** The run of thread $1 still holds fence $`fenceParam` under a lease. */
function guardLive(fenceParam: number): string {
  return `thread_id = $1 AND fence = $${fenceParam}::bigint AND ${leasedStatus()}`;
}

const ONLY_IF_GUARD = "WHERE EXISTS (SELECT 1 FROM guard)";

/**
 * Whether a guarded write's row count settles if its guard held: true or false, or undefined
 * when it cannot tell (no row landed, each for a conflict it may have skipped, or the driver
 * reports no count): then checkGuardStatement asks. `countsEveryRow`: every row the guard lets
 * through is counted (an upsert that updates on conflict).
 */
export function guardProven(
  rowCount: number | null | undefined,
  countsEveryRow: boolean,
): boolean | undefined {
  if (typeof rowCount !== "number") return undefined;
  if (rowCount > 0) return true;
  return countsEveryRow ? false : undefined;
}

/**
 * Whether a run still holds its fence, asked after a guarded write whose count could not tell.
 * Sound after the fact: a takeover raises the fence and a settled run leaves the leased
 * statuses, so a guard that holds now held when the write ran.
 */
export function checkGuardStatement(t: Tables, threadId: string, guard: Guard) {
  const sql = memo(t, "guard", () => `SELECT 1 AS ok FROM ${t.runs} WHERE ${guardLive(2)}`);
  return { sql, params: [threadId, guard.fence], prepare: true };
}

/**
 * One statement that stores a checkpoint and its new channel blobs: atomic without BEGIN/COMMIT.
 * The checkpoint's upsert is the top-level statement, so its row count is 1 exactly when a guard
 * held (an upsert counts a row it updates too).
 */
function putSql(t: Tables, blobCount: number, guarded: boolean): string {
  const ctes: string[] = [];
  const onlyIfGuard = guarded ? ONLY_IF_GUARD : "";
  let next = CHECKPOINT.types.length + 1;
  if (guarded) {
    ctes.push(guardCte(t, next));
    next += GUARD.types.length;
  }
  if (blobCount > 0) {
    ctes.push(`b AS (
      INSERT INTO ${t.blobs} (thread_id, checkpoint_ns, channel, version, type, blob)
      SELECT $1, $2, v.channel, v.version, v.type, v.blob
      FROM (VALUES ${valuesRows(blobCount, BLOB.types, next)}) AS v(channel, version, type, blob)
      ${onlyIfGuard}
      ON CONFLICT (thread_id, checkpoint_ns, channel, version) DO NOTHING)`);
  }
  const upsert = `INSERT INTO ${t.checkpoints}
      (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata)
    SELECT $1, $2, $3, $4, $5::jsonb, $6::jsonb ${onlyIfGuard}
    ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id)
    DO UPDATE SET checkpoint = EXCLUDED.checkpoint, metadata = EXCLUDED.metadata`;
  return ctes.length ? `WITH ${ctes.join(",\n")}\n${upsert}` : upsert;
}

const SPECIAL_CONFLICT =
  "DO UPDATE SET channel = EXCLUDED.channel, type = EXCLUDED.type, blob = EXCLUDED.blob, task_path = EXCLUDED.task_path";

/**
 * One statement for a task's writes; special writes replace, regular writes keep the first. The
 * top-level INSERT is the special writes' when there are any (an upsert: its row count proves a
 * guard), else the regular writes'; the other one, if any, is a WITH clause. No rows come back.
 */
function putWritesSql(
  t: Tables,
  specialCount: number,
  regularCount: number,
  guarded: boolean,
): string {
  const ctes: string[] = [];
  let next = TASK.types.length + 1;
  if (guarded) {
    ctes.push(guardCte(t, next));
    next += GUARD.types.length;
  }
  const onlyIfGuard = guarded ? ONLY_IF_GUARD : "";
  const insert = (count: number, conflict: string) => {
    const sql = `INSERT INTO ${t.writes}
        (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, channel, idx, type, blob)
      SELECT $1, $2, $3, $4, $5, v.channel, v.idx, v.type, v.blob
      FROM (VALUES ${valuesRows(count, WRITE.types, next)}) AS v(channel, idx, type, blob)
      ${onlyIfGuard}
      ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id, task_id, idx) ${conflict}`;
    next += count * WRITE.types.length;
    return sql;
  };
  // Parameters in order (special rows first), whichever of the two ends up on top.
  const special = specialCount > 0 ? insert(specialCount, SPECIAL_CONFLICT) : undefined;
  const regular = regularCount > 0 ? insert(regularCount, "DO NOTHING") : undefined;
  let top = special ?? regular ?? "";
  if (special && regular) ctes.push(`r AS (${regular})`);
  if (!special && !regular) top = "SELECT 1"; // no rows: nothing to write (callers skip this)
  return ctes.length ? `WITH ${ctes.join(",\n")}\n${top}` : top;
}

/**
 * The settling UPDATE of an outcome, for the rows of `source` (columns thread_id, fence, status,
 * head, error, retry, kind, review, reason): status, lease released (a failed run's lease ends
 * now, so its backoff decides), attempts reset by a settled run, the retry time, the head.
 *
 * `lazyCommit`: the statement records outcomes only, so its transaction commits without waiting
 * for the WAL flush (synchronous_commit off for that transaction alone). An outcome is what the
 * thread's checkpoints already say: if a server crash loses it, the row still reads `running`
 * under a lease that lapses, and the sweep settles it from the head checkpoint (completed,
 * waiting) or resumes it (a failed step runs once more). Every other write commits durably.
 */
function outcomeUpdate(t: Tables, source: string, lazyCommit: boolean): string {
  return `UPDATE ${t.runs} AS r SET status = v.status, owner = NULL,
       lease_until = CASE WHEN v.status = 'failed' THEN now() ELSE NULL END,
       attempts = CASE WHEN v.status IN ('completed', 'waiting') THEN 0 ELSE r.attempts END,
       next_attempt_at = CASE WHEN v.retry IS NULL THEN NULL ELSE now() + make_interval(secs => v.retry) END,
       head_checkpoint_id = coalesce(v.head, r.head_checkpoint_id), last_error = v.error,
       error_kind = v.kind, needs_review = v.review,
       details = CASE WHEN v.reason IS NULL THEN r.details - 'reason'
         ELSE r.details || jsonb_build_object('reason', v.reason) END, updated_at = now()
     FROM ${source} AS v(thread_id, fence, status, head, error, retry, kind, review, reason)
     WHERE r.thread_id = v.thread_id AND r.fence = v.fence${lazyCommit ? LAZY_COMMIT : ""}
     RETURNING r.thread_id, r.fence::text AS fence,
       EXISTS (SELECT 1 FROM ${t.runQueue} q WHERE q.thread_id = r.thread_id) AS queued`;
}

/** Makes the statement's transaction commit without waiting for the WAL flush (a WHERE term). */
const LAZY_COMMIT = " AND set_config('synchronous_commit', 'off', true) IS NOT NULL";

/** An outcome alone: one row `queued` if the run still held its fence, none otherwise. */
export function outcomeStatement(t: Tables, row: OutcomeRow) {
  const sql = memo(t, "outcome", () =>
    outcomeUpdate(t, `(VALUES ${valuesRows(1, OUTCOME.types, 1)})`, true),
  );
  return { sql, params: OUTCOME.params(row), prepare: true };
}

// ── Group commit ─────────────────────────────────────────────────────────────────────────────
// In a combined statement every row carries its thread and namespace, and, when any job of the
// batch is guarded, the fence it was written under (NULL: unguarded).

const BATCH_BLOB = ["text", "text", ...BLOB.types] as const;
const BATCH_WRITE = [...TASK.types, ...WRITE.types] as const;
/** A guard row: thread and fence. */
const BATCH_GUARD = ["text", "bigint"] as const;

/**
 * The fields a job adds to a combined statement (a value per column of each of its rows, the
 * fence, its guard): group commit keeps a statement's total under MAX_PARAMS, as a write alone
 * is held to Postgres' limit of 65,535 parameters.
 */
export function batchParams(job: WriteJob): number {
  if (job.kind === "outcome") return OUTCOME.types.length;
  const fence = 1;
  const guard = job.guard ? BATCH_GUARD.length : 0;
  if (job.kind === "put") {
    return CHECKPOINT.types.length + fence + job.blobs.length * (BATCH_BLOB.length + fence) + guard;
  }
  return (job.special.length + job.regular.length) * (BATCH_WRITE.length + fence) + guard;
}

export interface BatchGuard {
  threadId: string;
  fence: number | string;
}

/** A guarded job's key in the combined statement's result. */
export const guardKey = (threadId: string, fence: number | string) =>
  `${threadId}\u0000${String(fence)}`;

/** Rows of a combined statement, already merged (see WriteBatch in writer.ts). */
export interface BatchRows {
  guards: BatchGuard[];
  blobs: Array<{ threadId: string; ns: string; row: BlobRow; fence: number | string | null }>;
  checkpoints: Array<{ row: CheckpointRow; fence: number | string | null }>;
  special: Array<{ task: TaskRef; row: WriteRow; fence: number | string | null }>;
  regular: Array<{ task: TaskRef; row: WriteRow; fence: number | string | null }>;
  outcomes: OutcomeRow[];
}

/** A row of a combined statement's result: a guard that held ("g"), or a settled outcome ("o"). */
export interface BatchResultRow {
  k: "g" | "o";
  thread_id: string;
  fence: string;
  queued: boolean | null;
}

/**
 * Several threads' puts and putWrites as ONE statement. Same conflict rules as the single
 * statements. Guarded rows land only if their run still holds the fence; the statement returns
 * the (thread_id, fence) pairs that passed, so each guarded job learns whether it was fenced.
 *
 * Every column is one array parameter, read back with `unnest`, and every value's bytes are one
 * bytea parameter (each row names its slice: offset and length, -1 for NULL). The text then
 * depends only on which kinds of rows the batch has, not on how many: at most 64 texts, so they
 * run prepared, parsed once per connection and, with a generic plan, no longer planned. Against
 * a VALUES list of a parameter per field, an 8-thread statement cost the server 0.95 ms parsed
 * and planned each time, 0.68 ms as arrays and 0.59 ms prepared (pgbench, this machine).
 */
export function batchStatement(t: Tables, rows: BatchRows) {
  const guarded = rows.guards.length > 0;
  const present = SECTIONS.map((sec) => sec.rows(rows).length > 0);
  const hasOutcomes = rows.outcomes.length > 0;
  const params: unknown[] = [];
  if (guarded) {
    params.push(
      rows.guards.map((g) => g.threadId),
      rows.guards.map((g) => g.fence),
    );
  }
  const pack = new BlobPack();
  for (const sec of SECTIONS) {
    const list = sec.rows(rows);
    if (list.length === 0) continue;
    for (const [, , get] of sec.columns) params.push(list.map(get));
    if (sec.bytes) {
      const slices = list.map((r) => pack.add(sec.bytes?.(r) ?? null));
      params.push(
        slices.map((x) => x[0]),
        slices.map((x) => x[1]),
      );
    }
    if (guarded) params.push(list.map((r) => r.fence));
  }
  if (hasOutcomes) {
    const o = rows.outcomes.map((row) => OUTCOME.params(row));
    for (let i = 0; i < OUTCOME.types.length; i += 1) params.push(o.map((r) => r[i]));
  }
  if (SECTIONS.some((sec, i) => present[i] && sec.bytes)) params.push(pack.bytes());
  const key = `batch:${[guarded, ...present, hasOutcomes].map(Number).join("")}`;
  const sql = memo(t, key, () => batchSql(t, guarded, present, hasOutcomes));
  return { sql, params, prepare: true };
}

/** A column of a combined statement: its name, its SQL type, and how a row gives its value. */
type Column<R> = readonly [name: string, type: string, get: (row: R) => unknown];
type Row<K extends "blobs" | "checkpoints" | "special"> = BatchRows[K][number];

/**
 * The tables a combined statement inserts into, in parameter order: each one's columns (then
 * the bytes' slice, when it has a bytea column, then the fence when the batch is guarded), its
 * select list over `v`, and what a conflict does.
 */
interface Section<R extends { fence: number | string | null }> {
  name: string;
  table: keyof Tables;
  rows(b: BatchRows): readonly R[];
  columns: ReadonlyArray<Column<R>>;
  /** The row's value bytes, stored in column `blob`; absent: no bytea column. */
  bytes?: (row: R) => Uint8Array | null;
  /** The select list's expression for a column other than `v.<name>`. */
  cast?: Readonly<Record<string, string>>;
  conflict: string;
}

const WRITE_COLUMNS: ReadonlyArray<Column<Row<"special">>> = [
  ["thread_id", "text", (w) => w.task.threadId],
  ["checkpoint_ns", "text", (w) => w.task.ns],
  ["checkpoint_id", "text", (w) => w.task.checkpointId],
  ["task_id", "text", (w) => w.task.taskId],
  ["task_path", "text", (w) => w.task.taskPath],
  ["channel", "text", (w) => w.row.channel],
  ["idx", "integer", (w) => w.row.idx],
  ["type", "text", (w) => w.row.type],
];
const WRITE_KEY = "(thread_id, checkpoint_ns, checkpoint_id, task_id, idx)";

type AnyRow = Row<"blobs"> | Row<"checkpoints"> | Row<"special">;
/** A section over its own row type, listed with the others (the rows come from its `rows`). */
const section = <R extends AnyRow>(s: Section<R>) => s as unknown as Section<AnyRow>;

const SECTIONS: ReadonlyArray<Section<AnyRow>> = [
  section<Row<"blobs">>({
    name: "b",
    table: "blobs",
    rows: (b) => b.blobs,
    columns: [
      ["thread_id", "text", (b) => b.threadId],
      ["checkpoint_ns", "text", (b) => b.ns],
      ["channel", "text", (b) => b.row.channel],
      ["version", "text", (b) => b.row.version],
      ["type", "text", (b) => b.row.type],
    ],
    bytes: (b) => b.row.blob,
    conflict: "ON CONFLICT (thread_id, checkpoint_ns, channel, version) DO NOTHING",
  }),
  section<Row<"checkpoints">>({
    name: "c",
    table: "checkpoints",
    rows: (b) => b.checkpoints,
    columns: [
      ["thread_id", "text", (c) => c.row.threadId],
      ["checkpoint_ns", "text", (c) => c.row.ns],
      ["checkpoint_id", "text", (c) => c.row.checkpointId],
      ["parent_checkpoint_id", "text", (c) => c.row.parentId],
      ["checkpoint", "text", (c) => c.row.checkpoint],
      ["metadata", "text", (c) => c.row.metadata],
    ],
    cast: { checkpoint: "v.checkpoint::jsonb", metadata: "v.metadata::jsonb" },
    conflict: `ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id)
      DO UPDATE SET checkpoint = EXCLUDED.checkpoint, metadata = EXCLUDED.metadata`,
  }),
  section<Row<"special">>({
    name: "s",
    table: "writes",
    rows: (b) => b.special,
    columns: WRITE_COLUMNS,
    bytes: (w) => w.row.blob,
    conflict: `ON CONFLICT ${WRITE_KEY} ${SPECIAL_CONFLICT}`,
  }),
  section<Row<"special">>({
    name: "r",
    table: "writes",
    rows: (b) => b.regular,
    columns: WRITE_COLUMNS,
    bytes: (w) => w.row.blob,
    conflict: `ON CONFLICT ${WRITE_KEY} DO NOTHING`,
  }),
];

/** A combined statement's values, packed into one bytea: each added value's [offset, length]. */
class BlobPack {
  private readonly parts: Uint8Array[] = [];
  private size = 0;
  /** Where `blob` sits in the pack; length -1 stands for NULL. */
  add(blob: Uint8Array | null): [number, number] {
    if (blob === null) return [0, -1];
    this.parts.push(blob);
    this.size += blob.byteLength;
    return [this.size - blob.byteLength, blob.byteLength];
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts, this.size);
  }
}

/**
 * The text of a combined statement: guarded or not, with the SECTIONS `present`, and outcomes;
 * parameters in batchStatement's order, the pack last.
 */
function batchSql(
  t: Tables,
  guarded: boolean,
  present: readonly boolean[],
  outcomes: boolean,
): string {
  let next = 1;
  const arrays = (types: readonly string[]) => types.map((type) => `$${next++}::${type}[]`);
  const ctes: string[] = [];
  if (guarded) {
    ctes.push(
      `gv AS (SELECT * FROM unnest(${arrays(BATCH_GUARD).join(", ")}) AS v(thread_id, fence))`,
    );
    // Every guarded run's row is share-locked, as alone (see guardCte), in one locking scan.
    ctes.push(`guard AS (
      SELECT r.thread_id, r.fence FROM ${t.runs} r JOIN gv
        ON r.thread_id = gv.thread_id AND r.fence = gv.fence
      WHERE ${leasedStatus("r")}
      FOR SHARE OF r)`);
  }
  // Only rows whose guard passed (or that carry none) are read from a guarded batch.
  const pass = guarded
    ? "WHERE v.fence IS NULL OR (v.thread_id, v.fence) IN (SELECT thread_id, fence FROM guard)"
    : "";
  // A value's bytes: its slice of the pack, the last parameter (numbered once all are known).
  const PACK = "$PACK";
  const bytes = `CASE WHEN v.len < 0 THEN NULL ELSE substring(${PACK}::bytea FROM v.off + 1 FOR v.len) END`;
  SECTIONS.forEach((sec, i) => {
    if (!present[i]) return;
    const names = sec.columns.map(([name]) => name);
    const types = sec.columns.map(([, type]) => type);
    if (sec.bytes) {
      names.push("off", "len");
      types.push("integer", "integer");
    }
    if (guarded) {
      names.push("fence");
      types.push("bigint");
    }
    const select = sec.columns.map(([name]) => sec.cast?.[name] ?? `v.${name}`);
    const insert = sec.columns.map(([name]) => name);
    if (sec.bytes) {
      select.push(bytes);
      insert.push("blob");
    }
    ctes.push(`${sec.name} AS (INSERT INTO ${t[sec.table]} (${insert.join(", ")})
      SELECT ${select.join(", ")}
      FROM unnest(${arrays(types).join(", ")}) AS v(${names.join(", ")}) ${pass}
      ${sec.conflict})`);
  });
  const tails: string[] = [];
  if (guarded)
    tails.push(
      "SELECT 'g' AS k, thread_id, fence::text AS fence, NULL::boolean AS queued FROM guard",
    );
  if (outcomes) {
    // OUTCOME's columns, in outcomeUpdate's order; a batch of outcomes only commits lazily.
    const only = !guarded && !present.some(Boolean);
    ctes.push(`o AS (${outcomeUpdate(t, `unnest(${arrays(OUTCOME.types).join(", ")})`, only)})`);
    tails.push("SELECT 'o' AS k, thread_id, fence, queued FROM o");
  }
  const tail = tails.length > 0 ? tails.join("\nUNION ALL\n") : "SELECT 1 AS ok";
  return `WITH ${ctes.join(",\n")}\n${tail}`.replaceAll(PACK, () => `$${next}`);
}

import type { RunnableConfig } from "@langchain/core/runnables";
import {
  BaseCheckpointSaver,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointTuple,
  type DeltaChannelHistory,
  type PendingWrite,
  type SerializerProtocol,
  TASKS,
  WRITES_IDX_MAP,
} from "@langchain/langgraph-checkpoint";
import pg from "pg";
import { checkpointKey, WriteCoalescer, type WriteJob, writeKey } from "./batch.js";
import { CompactEncoder } from "./compact/encoder.js";
import { type Fetch, type FetchedRow, resolveReadRows } from "./compact/read.js";
import {
  type Connection,
  type Database,
  type Queryable,
  type QueryOptions,
  toDatabase,
} from "./db.js";
import { CheckpointerError, isDatabaseError, wrapDbError } from "./errors.js";
import { checkDepth, checkJsonText, checkKey, invalid } from "./input.js";
import { toJsonbText } from "./nul.js";
import { archivedError, archivedThread } from "./ops/archives.js";
import {
  type ConvertOptions,
  type ConvertResult,
  compactThread,
  expandThread,
} from "./ops/compact.js";
import { deltaChannelHistory } from "./ops/history.js";
import { type PruneOptions, type PruneResult, prune } from "./ops/prune.js";
import { type CheckpointStats, getCheckpointStats } from "./ops/stats.js";
import {
  copyThread,
  deleteThread,
  type ListThreadsOptions,
  listThreads,
  type ThreadPage,
} from "./ops/threads.js";
import {
  type OperationEvent,
  type OperationListener,
  type PostgresCheckpointerOptions,
  type ResolvedOptions,
  resolveOptions,
  type WriteLease,
} from "./options.js";
import { CallOrder } from "./order.js";
import { groupRows, migratePendingSends, type ReadRow, toTuple } from "./rows.js";
import type { DbSeam } from "./seam.js";
import { type Tables, tablesFor } from "./sql/identifiers.js";
import { type ListCursor, listPlan } from "./sql/list.js";
import { runMigrations } from "./sql/migrate.js";
import {
  BATCH_PARAMS,
  batchSql,
  CP_COLUMNS,
  putSql,
  putWritesSql,
  readSql,
} from "./sql/statements.js";
import { nextChannelVersion } from "./versions.js";

/** Parameters a job adds to a combined statement (see batchSql). */
function jobParams(job: WriteJob): number {
  if (job.kind === "put") return BATCH_PARAMS.checkpoint + job.blobs.length * BATCH_PARAMS.blob;
  return (job.special.length + job.regular.length) * BATCH_PARAMS.write;
}

/** Parameters at most per statement; Postgres' wire limit is 65535. */
const MAX_PARAMS = 60_000;

/**
 * Postgres checkpointer for LangGraph.js: same tables as the official `PostgresSaver`, one round
 * trip per write, reads whose cost does not grow with the thread, locked migrations, NUL-safe.
 */
export class PostgresCheckpointer extends BaseCheckpointSaver implements DbSeam {
  readonly db: Database;
  readonly options: ResolvedOptions;
  readonly tables: Tables;
  private readonly leases = new Map<string, WriteLease>();
  private listeners: OperationListener[] = [];
  private pruneListeners: Array<(result: PruneResult) => void> = [];
  private setupDone?: Promise<void>;
  private readonly coalescer?: WriteCoalescer;
  private readonly writesInProgress = new Set<Promise<unknown>>();
  private readonly order = new CallOrder();
  /** With `storage: "compact"`: the last stored version of each channel, to append to. */
  private readonly compactor?: CompactEncoder;

  constructor(
    connection: Connection,
    serde?: SerializerProtocol,
    options?: PostgresCheckpointerOptions,
  ) {
    super(serde);
    this.options = resolveOptions(options);
    this.tables = tablesFor(this.options.schema);
    this.db = toDatabase(connection, this.options.endPool);
    if (this.options.storage === "compact") {
      this.compactor = new CompactEncoder(
        this.options.compactMaxChain,
        this.options.compactCacheBytes,
      );
    }
    if (this.options.maxConcurrentWrites > 0) {
      this.coalescer = new WriteCoalescer(this.options.maxConcurrentWrites, {
        maxParams: MAX_PARAMS,
        params: jobParams,
        one: (job) => this.runJob(job),
        many: (jobs) => this.runJobs(jobs),
      });
    }
  }

  /** One job alone: the same single statement put()/putWrites() would send. */
  private async runJob(job: WriteJob): Promise<void> {
    if (job.kind === "put") {
      await this.run("put()", putSql(this.tables, job.blobs.length, false), [
        ...job.head,
        ...job.blobs.flat(),
      ]);
    } else {
      const sql = putWritesSql(this.tables, job.special.length, job.regular.length, false);
      await this.run("putWrites()", sql, [
        ...job.head,
        ...job.special.flat(),
        ...job.regular.flat(),
      ]);
    }
  }

  /**
   * Several jobs as one statement, in arrival order. Rows that upsert (checkpoints, special writes)
   * are merged by key, the last job winning, since Postgres refuses to update one row twice in a
   * statement; inserts-if-absent (blobs, regular writes) keep every row, so the first one stays.
   */
  private async runJobs(jobs: WriteJob[]): Promise<void> {
    const blobs: unknown[] = [];
    const checkpoints = new Map<string, unknown[]>();
    const special = new Map<string, unknown[]>();
    const regular: unknown[] = [];
    let blobCount = 0;
    let regularCount = 0;
    for (const job of jobs) {
      const [thread, ns] = job.head;
      if (job.kind === "put") {
        checkpoints.set(checkpointKey(job.head), job.head);
        for (const b of job.blobs) blobs.push(thread, ns, ...b);
        blobCount += job.blobs.length;
      } else {
        for (const w of job.special) special.set(writeKey(job.head, w), [...job.head, ...w]);
        for (const w of job.regular) regular.push(...job.head, ...w);
        regularCount += job.regular.length;
      }
    }
    const sql = batchSql(this.tables, blobCount, checkpoints.size, special.size, regularCount);
    await this.run("writeBatch()", sql, [
      ...blobs,
      ...[...checkpoints.values()].flat(),
      ...[...special.values()].flat(),
      ...regular,
    ]);
  }

  /** A checkpointer on its own pool (ended by end()). Call setup() before first use. */
  static fromConnString(
    connString: string,
    options?: Omit<PostgresCheckpointerOptions, "endPool">,
  ) {
    const pool = new pg.Pool({ connectionString: connString });
    return new PostgresCheckpointer(pool, undefined, { ...options, endPool: true });
  }

  /** Creates or upgrades the tables. Safe to call from many processes at once. */
  setup(): Promise<void> {
    this.setupDone ??= runMigrations(this.db, this.tables, this.options).catch((error) => {
      this.setupDone = undefined;
      throw wrapDbError(error, "setup()");
    });
    return this.setupDone;
  }

  /** Waits for writes already started (some may be queued for a combined statement), then closes what this instance owns. */
  async end(): Promise<void> {
    await Promise.allSettled([...this.writesInProgress]);
    await this.db.end();
  }

  /**
   * Makes every write to `threadId` from this instance renew the lease and prove it still holds
   * `fence`, in the same statement; a write after the lease was taken over throws FENCED.
   * Returns the function that detaches the lease.
   */
  attachLease(threadId: string, lease: WriteLease): () => void {
    this.leases.set(threadId, lease);
    return () => {
      if (this.leases.get(threadId) === lease) this.leases.delete(threadId);
    };
  }

  getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    return this.inOrder(config, this.getTupleNow(config));
  }

  private async getTupleNow(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const { thread_id, checkpoint_ns = "", checkpoint_id } = config.configurable ?? {};
    if (thread_id === undefined || thread_id === null) return undefined;
    const params: unknown[] = [
      checkKey("getTuple", "thread_id", thread_id),
      checkKey("getTuple", "checkpoint_ns", checkpoint_ns ?? "", true),
    ];
    let cp = `SELECT ${CP_COLUMNS} FROM ${this.tables.checkpoints} WHERE thread_id = $1 AND checkpoint_ns = $2`;
    if (checkpoint_id) {
      params.push(checkKey("getTuple", "checkpoint_id", checkpoint_id));
      cp += " AND checkpoint_id = $3";
    } else cp += " ORDER BY checkpoint_id DESC LIMIT 1";
    const { tuples } = await this.readPage("getTuple()", cp, "checkpoint_id DESC", params);
    const tuple = (await tuples.next()).value;
    if (tuple) return tuple;
    // Not found: one primary-key probe tells an archived thread (ARCHIVED) from a new one.
    const archived = await archivedThread(this, params[0] as string).catch((error) => {
      throw wrapDbError(error, "getTuple()");
    });
    if (archived) throw archivedError(archived);
    return undefined;
  }

  async *list(
    config: RunnableConfig,
    options?: CheckpointListOptions,
  ): AsyncGenerator<CheckpointTuple> {
    const plan = listPlan(this.tables, config, options);
    let remaining = plan.total;
    let cursor: ListCursor | undefined;
    while (remaining > 0) {
      const pageSize = Math.min(this.options.listPageSize, remaining);
      const { sql, params } = plan.page(cursor, pageSize);
      const { tuples, count, last } = await this.readPage("list()", sql, plan.order, params);
      yield* tuples;
      if (count < pageSize || !last) return;
      remaining -= count;
      cursor = last;
    }
  }

  put(
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    newVersions: ChannelVersions,
  ): Promise<RunnableConfig> {
    return this.inOrder(
      config,
      this.tracked(this.putNow(config, checkpoint, metadata, newVersions)),
    );
  }

  putWrites(
    config: RunnableConfig,
    writes: PendingWrite[],
    taskId: string,
    taskPath = "",
  ): Promise<void> {
    return this.inOrder(config, this.tracked(this.putWritesNow(config, writes, taskId, taskPath)));
  }

  /** Delivers a call's result after the thread's earlier calls' (see CallOrder). */
  private inOrder<T>(config: RunnableConfig, work: Promise<T>): Promise<T> {
    const thread = config?.configurable?.thread_id;
    return thread === undefined || thread === null
      ? work
      : this.order.deliver(String(thread), work);
  }

  /** Integers unique across the thread's branches, so forks read their own values (versions.ts). */
  override getNextVersion(current: number | undefined): number {
    return nextChannelVersion(current);
  }

  /** Remembers a write until it settles, so end() never cuts one off. */
  private tracked<T>(write: Promise<T>): Promise<T> {
    this.writesInProgress.add(write);
    const forget = () => this.writesInProgress.delete(write);
    write.then(forget, forget);
    return write;
  }

  private async putNow(
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    newVersions: ChannelVersions,
  ): Promise<RunnableConfig> {
    if (config.configurable === undefined) {
      throw invalid("put", 'missing "configurable" in config.');
    }
    const c = config.configurable;
    const threadId = checkKey("put", "thread_id", c.thread_id);
    const ns = checkKey("put", "checkpoint_ns", c.checkpoint_ns ?? "", true);
    const id = checkKey("put", "checkpoint_id", checkpoint.id);
    const parentId = c.checkpoint_id ? checkKey("put", "checkpoint_id", c.checkpoint_id) : null;
    const { channel_values, ...stored } = checkpoint;
    const storedText = JSON.stringify(stored);
    checkJsonText("put", "checkpoint", storedText);
    const [blobs, metadataText] = await Promise.all([
      this.dumpBlobs(channel_values, newVersions),
      this.dumpMetadata(metadata),
    ]);
    // Compact: values that extend a version stored before become appends (committed on success).
    const committed = this.compactor?.encode(threadId, ns, parentId !== null, blobs);
    const lease = this.leases.get(threadId);
    const head: unknown[] = [threadId, ns, id, parentId, toJsonbText(storedText), metadataText];
    const done = {
      configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: id },
    };
    if (!lease && this.coalescer && head.length + blobs.length * 6 <= MAX_PARAMS) {
      await this.coalescer.submit({ kind: "put", head, blobs }).catch(asOperation("put()"));
      committed?.();
      return done;
    }
    const params = [...head];
    if (lease) params.push(lease.fence, lease.leaseSeconds);
    for (const b of blobs) params.push(...b);
    if (params.length > MAX_PARAMS) {
      throw invalid(
        "put",
        `${blobs.length} channels in one checkpoint is more than one statement can carry.`,
      );
    }
    const rows = await this.run("put()", putSql(this.tables, blobs.length, !!lease), params);
    if (lease) this.assertFence(rows, threadId, lease, "put");
    committed?.();
    return done;
  }

  private async putWritesNow(
    config: RunnableConfig,
    writes: PendingWrite[],
    taskId: string,
    taskPath: string,
  ): Promise<void> {
    if (writes.length === 0) return;
    const c = config.configurable ?? {};
    const threadId = checkKey("putWrites", "thread_id", c.thread_id);
    const ns = checkKey("putWrites", "checkpoint_ns", c.checkpoint_ns ?? "", true);
    const checkpointId = checkKey("putWrites", "checkpoint_id", c.checkpoint_id);
    const task = checkKey("putWrites", "task_id", taskId);
    const path = checkKey("putWrites", "task_path", taskPath, true);
    const rows = await Promise.all(
      writes.map(async ([channel, value], idx) => {
        const name = checkKey("putWrites", "channel", channel);
        const [type, bytes] = await this.serde.dumpsTyped(value);
        return [name, WRITES_IDX_MAP[name] ?? idx, type, bytes] as unknown[];
      }),
    );
    // A special channel maps every write to one idx (a node that called interrupt() twice sends
    // two __resume__ writes): keep the last, as MemorySaver and the official saver do.
    const bySpecialIdx = new Map<number, unknown[]>();
    const regular: unknown[][] = [];
    for (const row of rows) {
      if (WRITES_IDX_MAP[row[0] as string] === undefined) regular.push(row);
      else bySpecialIdx.set(row[1] as number, row);
    }
    const special = [...bySpecialIdx.values()];
    const lease = this.leases.get(threadId);
    const head: unknown[] = [threadId, ns, checkpointId, task, path];
    if (lease) head.push(lease.fence, lease.leaseSeconds);
    const rowsPerStatement = Math.floor((MAX_PARAMS - head.length) / 4);
    const count = special.length + regular.length;
    if (!lease && this.coalescer && count * BATCH_PARAMS.write <= MAX_PARAMS) {
      await this.coalescer
        .submit({ kind: "writes", head, special, regular })
        .catch(asOperation("putWrites()"));
      return;
    }
    if (count <= rowsPerStatement) {
      const params = [...head, ...special.flat(), ...regular.flat()];
      const rows = await this.run(
        "putWrites()",
        putWritesSql(this.tables, special.length, regular.length, !!lease),
        params,
      );
      if (lease) this.assertFence(rows, threadId, lease);
      return;
    }
    // Only a task with tens of thousands of writes gets here: chunks, still all-or-nothing.
    await this.writeChunks(head, special, regular, rowsPerStatement, threadId, lease);
  }

  /** Chunks of one task's writes in one transaction. */
  private async writeChunks(
    head: unknown[],
    special: unknown[][],
    regular: unknown[][],
    rowsPerStatement: number,
    threadId: string,
    lease: WriteLease | undefined,
  ): Promise<void> {
    try {
      await this.db.transaction(async (tx) => {
        for (const [list, isSpecial] of [
          [special, true],
          [regular, false],
        ] as const) {
          for (let i = 0; i < list.length; i += rowsPerStatement) {
            const chunk = list.slice(i, i + rowsPerStatement);
            const sql = putWritesSql(
              this.tables,
              isSpecial ? chunk.length : 0,
              isSpecial ? 0 : chunk.length,
              !!lease,
            );
            const { rows } = await tx.query<{ ok: number }>(sql, [...head, ...chunk.flat()]);
            if (lease) this.assertFence(rows, threadId, lease);
          }
        }
      });
    } catch (error) {
      throw wrapDbError(error, "putWrites()");
    }
  }

  async deleteThread(threadId: string): Promise<void> {
    const id = checkKey("deleteThread", "thread_id", threadId);
    this.compactor?.forget(id);
    await deleteThread(this, id);
  }

  /** Copies every checkpoint, blob and write of a thread to a new thread id; returns checkpoints copied. */
  async copyThread(sourceThreadId: string, targetThreadId: string): Promise<number> {
    return copyThread(
      this,
      checkKey("copyThread", "thread_id", sourceThreadId),
      checkKey("copyThread", "thread_id", targetThreadId),
    );
  }

  /** Stores a thread's values as compact chains (see `storage: "compact"`); idempotent. */
  async compactThread(threadId: string, options?: ConvertOptions): Promise<ConvertResult> {
    const id = checkKey("compactThread", "thread_id", threadId);
    this.compactor?.forget(id);
    return compactThread(this, id, { maxChain: this.options.compactMaxChain, ...options });
  }

  /** Stores a thread's compact values whole again, readable by the official saver. */
  async expandThread(threadId: string, options?: ConvertOptions): Promise<ConvertResult> {
    const id = checkKey("expandThread", "thread_id", threadId);
    this.compactor?.forget(id);
    return expandThread(this, id, options);
  }

  /** Totals, time range and on-disk bytes per table. */
  getCheckpointStats(): Promise<CheckpointStats> {
    return getCheckpointStats(this);
  }

  /** Threads with last activity and checkpoint count, a page at a time. */
  listThreads(options?: ListThreadsOptions): Promise<ThreadPage> {
    return listThreads(this, options);
  }

  /** Retention: keep the newest N checkpoints per thread and/or drop threads idle since a date. */
  async prune(options: PruneOptions): Promise<PruneResult> {
    for (const id of options.threadIds ?? []) checkKey("prune", "thread_id", id);
    this.compactor?.forget();
    const result = await prune(this, options).catch(asOperation("prune()"));
    for (const listener of this.pruneListeners) listener(result);
    return result;
  }

  /** Calls `listener` with the totals of every prune() this instance runs (for metrics). */
  onPrune(listener: (result: PruneResult) => void): () => void {
    this.pruneListeners.push(listener);
    return () => {
      this.pruneListeners = this.pruneListeners.filter((l) => l !== listener);
    };
  }

  override getDeltaChannelHistory(options: {
    config: RunnableConfig;
    channels: string[];
  }): Promise<Record<string, DeltaChannelHistory>> {
    return this.inOrder(options.config, deltaChannelHistory(this, options));
  }

  /** The compact resolver's fallback fetch, run as part of the operation `what`. */
  private fetch(what: string): Fetch {
    return (sql, params) => this.run<FetchedRow>(what, sql, params);
  }

  /** Runs one statement through the seam, turning a lost connection into a clear error. */
  async run<R = Record<string, unknown>>(
    what: string,
    sql: string,
    params: readonly unknown[] = [],
    options?: QueryOptions,
  ): Promise<R[]> {
    const started = this.listeners.length > 0 ? performance.now() : 0;
    try {
      const { rows } = await this.db.query<R>(sql, params, options);
      if (started) this.emit(what, started, true);
      return rows;
    } catch (error) {
      const wrapped = wrapDbError(error, what);
      if (started) this.emit(what, started, false, wrapped);
      throw wrapped;
    }
  }

  /** See DbSeam.transaction. */
  async transaction<T>(what: string, fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const started = this.listeners.length > 0 ? performance.now() : 0;
    try {
      const result = await this.db.transaction(fn);
      if (started) this.emit(what, started, true);
      return result;
    } catch (error) {
      const thrown = isDatabaseError(error) ? wrapDbError(error, what) : error;
      if (started) this.emit(what, started, false, thrown);
      throw thrown;
    }
  }

  get kind(): "postgres" | "pglite" {
    return this.db.kind;
  }

  get schema(): string {
    return this.options.schema;
  }

  /** Calls `listener` after every statement, with its duration; returns the unsubscribe function. */
  onOperation(listener: OperationListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  private emit(what: string, started: number, ok: boolean, error?: unknown) {
    const event: OperationEvent = {
      operation: what.replace(/\(\)$/, ""),
      durationMs: performance.now() - started,
      ok,
      error,
    };
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // a broken metrics listener must never fail a checkpoint write
      }
    }
  }

  /**
   * One round trip: a page of checkpoints with their blobs and writes, in `order`. Tuples are
   * decoded one at a time as the caller pulls them, so a page of large states is never all
   * live at once.
   */
  private async readPage(what: string, cpSql: string, order: string, params: unknown[]) {
    // Text results, not binary: node-postgres decodes every field of a binary result as UTF-8
    // before parsing it, which mangles negative integers (special writes' idx), integers ≥ 128
    // and raw-bytes blobs. bytea arrives as hex and pg's parser turns it into a Buffer.
    const rows = await this.run<ReadRow>(what, readSql(this.tables, cpSql, order), params);
    await resolveReadRows(this.tables, rows, this.fetch(what));
    const groups = groupRows(rows).sort((a, b) => a.head.idx - b.head.idx);
    const saver = this;
    async function* tuples(): AsyncGenerator<CheckpointTuple> {
      for (let i = 0; i < groups.length; i += 1) {
        const group = groups[i] as (typeof groups)[number];
        groups[i] = undefined as never; // let the page's rows go as soon as they are decoded
        const tuple = await toTuple(saver.serde, group);
        if (tuple.checkpoint.v < 4 && tuple.parentConfig) {
          await saver.upgradeLegacySends(tuple, what);
        }
        yield tuple;
      }
    }
    return { tuples: tuples(), count: groups.length, last: groups.at(-1)?.head };
  }

  private async upgradeLegacySends(tuple: CheckpointTuple, what: string): Promise<void> {
    const p = tuple.parentConfig?.configurable ?? {};
    const sends = await this.run<{ type: string; blob: Uint8Array }>(
      what,
      `SELECT type, blob FROM ${this.tables.writes}
       WHERE thread_id = $1 AND checkpoint_ns = $2 AND checkpoint_id = $3 AND channel = $4
       ORDER BY task_path COLLATE "C", task_id COLLATE "C", idx`,
      [p.thread_id, p.checkpoint_ns ?? "", p.checkpoint_id, TASKS],
    );
    if (sends.length > 0)
      await migratePendingSends(this.serde, tuple, sends, () => this.getNextVersion(undefined));
  }

  private async dumpBlobs(values: Record<string, unknown>, versions: ChannelVersions) {
    return Promise.all(
      Object.entries(versions).map(async ([channel, version]) => {
        checkKey("put", "channel", channel);
        const v = checkKey("put", "version", version);
        if (!(channel in values)) return [channel, v, "empty", null];
        const [type, bytes] = await this.serde.dumpsTyped(values[channel]);
        return [channel, v, type, bytes];
      }),
    );
  }

  /** Metadata as JSONB text; what Postgres or a later read would choke on is rejected here. */
  private async dumpMetadata(metadata: CheckpointMetadata): Promise<string> {
    // The serializer would silently store a placeholder string for very deep metadata.
    checkDepth("put", "metadata", metadata);
    let text: string;
    try {
      text = new TextDecoder().decode((await this.serde.dumpsTyped(metadata))[1]);
    } catch (cause) {
      throw invalid("put", `metadata cannot be serialized (${(cause as Error).message}).`, cause);
    }
    checkJsonText("put", "metadata", text);
    return toJsonbText(text);
  }

  private assertFence(
    rows: Array<{ ok?: number }>,
    threadId: string,
    lease: WriteLease,
    operation = "putWrites",
  ): void {
    if (rows[0]?.ok) return;
    throw new CheckpointerError(
      "FENCED",
      `Write to thread "${threadId}" rejected: this worker's lease (fence ${lease.fence}) was taken over by another worker. ` +
        "Stop this run; the thread's new owner continues it.",
      { operation },
    );
  }
}

/**
 * A database error raised under an inner statement's name (a combined "writeBatch", prune's
 * "listThreads") reaches the caller under the method it called, re-derived from the driver error.
 */
function asOperation(what: string) {
  const operation = what.replace(/\(\)$/, "");
  return (error: unknown): never => {
    if (
      error instanceof CheckpointerError &&
      error.operation !== undefined &&
      error.operation !== operation &&
      error.cause !== undefined &&
      !(error.cause instanceof CheckpointerError)
    ) {
      throw wrapDbError(error.cause, what);
    }
    throw error;
  };
}

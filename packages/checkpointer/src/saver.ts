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
import { WriteCoalescer, type WriteJob } from "./batch.js";
import { type Connection, type Database, type QueryOptions, toDatabase } from "./db.js";
import { CheckpointerError, wrapDbError } from "./errors.js";
import { toJsonbText } from "./nul.js";
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
  checkTextKey,
  type OperationEvent,
  type OperationListener,
  type PostgresCheckpointerOptions,
  type ResolvedOptions,
  resolveOptions,
  type WriteLease,
} from "./options.js";
import { groupRows, migratePendingSends, type ReadRow, toTuple } from "./rows.js";
import { type Tables, tablesFor } from "./sql/identifiers.js";
import { type ListCursor, listPlan } from "./sql/list.js";
import { runMigrations } from "./sql/migrate.js";
import {
  BATCH_PARAMS,
  batchSql,
  CP_COLUMNS,
  deltaHistorySql,
  putSql,
  putWritesSql,
  readSql,
} from "./sql/statements.js";

/** Parameters a job adds to a combined statement (see batchSql). */
function jobParams(job: WriteJob): number {
  if (job.kind === "put") return BATCH_PARAMS.checkpoint + job.blobs.length * BATCH_PARAMS.blob;
  return (job.special.length + job.regular.length) * BATCH_PARAMS.write;
}

/** Reads ask for binary results: blobs arrive as bytes instead of hex text to decode. */
const BINARY: QueryOptions = { binary: true };

/** Parameters at most per statement; Postgres' wire limit is 65535. */
const MAX_PARAMS = 60_000;

/**
 * Postgres checkpointer for LangGraph.js: same tables as the official `PostgresSaver`, one round
 * trip per write, reads whose cost does not grow with the thread, locked migrations, NUL-safe.
 */
export class PostgresCheckpointer extends BaseCheckpointSaver {
  readonly db: Database;
  readonly options: ResolvedOptions;
  readonly tables: Tables;
  private readonly leases = new Map<string, WriteLease>();
  private listeners: OperationListener[] = [];
  private pruneListeners: Array<(result: PruneResult) => void> = [];
  private setupDone?: Promise<void>;
  private readonly coalescer?: WriteCoalescer;
  private readonly writesInProgress = new Set<Promise<unknown>>();

  constructor(
    connection: Connection,
    serde?: SerializerProtocol,
    options?: PostgresCheckpointerOptions,
  ) {
    super(serde);
    this.options = resolveOptions(options);
    this.tables = tablesFor(this.options.schema);
    this.db = toDatabase(connection, this.options.endPool);
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

  /** Several threads' jobs as one statement. */
  private async runJobs(jobs: WriteJob[]): Promise<void> {
    const blobs: unknown[] = [];
    const checkpoints: unknown[] = [];
    const special: unknown[] = [];
    const regular: unknown[] = [];
    const counts = { blobs: 0, checkpoints: 0, special: 0, regular: 0 };
    for (const job of jobs) {
      const [thread, ns] = job.head;
      if (job.kind === "put") {
        checkpoints.push(...job.head);
        counts.checkpoints += 1;
        for (const b of job.blobs) blobs.push(thread, ns, ...b);
        counts.blobs += job.blobs.length;
      } else {
        for (const w of job.special) special.push(...job.head, ...w);
        for (const w of job.regular) regular.push(...job.head, ...w);
        counts.special += job.special.length;
        counts.regular += job.regular.length;
      }
    }
    const sql = batchSql(
      this.tables,
      counts.blobs,
      counts.checkpoints,
      counts.special,
      counts.regular,
    );
    await this.run("writeBatch()", sql, [...blobs, ...checkpoints, ...special, ...regular]);
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

  async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const { thread_id, checkpoint_ns = "", checkpoint_id } = config.configurable ?? {};
    if (thread_id === undefined || thread_id === null) return undefined;
    const params: unknown[] = [String(thread_id), checkpoint_ns];
    let cp = `SELECT ${CP_COLUMNS} FROM ${this.tables.checkpoints} WHERE thread_id = $1 AND checkpoint_ns = $2`;
    if (checkpoint_id) {
      params.push(checkpoint_id);
      cp += " AND checkpoint_id = $3";
    } else cp += " ORDER BY checkpoint_id DESC LIMIT 1";
    const { tuples } = await this.readPage("getTuple()", cp, "checkpoint_id DESC", params);
    return (await tuples.next()).value ?? undefined;
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
    return this.tracked(this.putNow(config, checkpoint, metadata, newVersions));
  }

  putWrites(
    config: RunnableConfig,
    writes: PendingWrite[],
    taskId: string,
    taskPath = "",
  ): Promise<void> {
    return this.tracked(this.putWritesNow(config, writes, taskId, taskPath));
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
      throw new CheckpointerError("INVALID_ARGUMENT", 'put(): missing "configurable" in config.');
    }
    const { thread_id, checkpoint_ns = "", checkpoint_id } = config.configurable;
    const threadId = checkTextKey("thread_id", thread_id);
    checkTextKey("checkpoint_ns", checkpoint_ns, true);
    const { channel_values, ...stored } = checkpoint;
    const [blobs, metadataText] = await Promise.all([
      this.dumpBlobs(channel_values, newVersions),
      this.serde
        .dumpsTyped(metadata)
        .then(([, bytes]) => toJsonbText(new TextDecoder().decode(bytes))),
    ]);
    const lease = this.leases.get(threadId);
    const head: unknown[] = [
      threadId,
      checkpoint_ns,
      checkpoint.id,
      checkpoint_id ?? null,
      toJsonbText(JSON.stringify(stored)),
      metadataText,
    ];
    const done = {
      configurable: { thread_id: threadId, checkpoint_ns, checkpoint_id: checkpoint.id },
    };
    if (!lease && this.coalescer && head.length + blobs.length * 6 <= MAX_PARAMS) {
      await this.coalescer.submit({ kind: "put", head, blobs });
      return done;
    }
    const params = [...head];
    if (lease) params.push(lease.fence, lease.leaseSeconds);
    for (const b of blobs) params.push(...b);
    if (params.length > MAX_PARAMS) {
      throw new CheckpointerError(
        "INVALID_ARGUMENT",
        `put(): ${blobs.length} channels in one checkpoint is more than one statement can carry.`,
      );
    }
    const rows = await this.run("put()", putSql(this.tables, blobs.length, !!lease), params);
    if (lease) this.assertFence(rows, threadId, lease);
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
    const threadId = checkTextKey("thread_id", c.thread_id);
    const ns = checkTextKey("checkpoint_ns", c.checkpoint_ns ?? "", true);
    const checkpointId = checkTextKey("checkpoint_id", c.checkpoint_id);
    checkTextKey("task_id", taskId);
    const special: unknown[][] = [];
    const regular: unknown[][] = [];
    await Promise.all(
      writes.map(async ([channel, value], idx) => {
        checkTextKey("channel", channel);
        const [type, bytes] = await this.serde.dumpsTyped(value);
        const specialIdx = WRITES_IDX_MAP[channel];
        const row = [channel, specialIdx ?? idx, type, bytes];
        (specialIdx === undefined ? regular : special).push(row);
      }),
    );
    const lease = this.leases.get(threadId);
    const head: unknown[] = [threadId, ns, checkpointId, taskId, taskPath];
    if (lease) head.push(lease.fence, lease.leaseSeconds);
    const rowsPerStatement = Math.floor((MAX_PARAMS - head.length) / 4);
    const count = special.length + regular.length;
    if (!lease && this.coalescer && count * BATCH_PARAMS.write <= MAX_PARAMS) {
      await this.coalescer.submit({ kind: "writes", head, special, regular });
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
  }

  async deleteThread(threadId: string): Promise<void> {
    await deleteThread(this, threadId);
  }

  /** Copies every checkpoint, blob and write of a thread to a new thread id; returns checkpoints copied. */
  copyThread(sourceThreadId: string, targetThreadId: string): Promise<number> {
    return copyThread(this, sourceThreadId, targetThreadId);
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
    const result = await prune(this, options);
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

  override async getDeltaChannelHistory(options: {
    config: RunnableConfig;
    channels: string[];
  }): Promise<Record<string, DeltaChannelHistory>> {
    const { config, channels } = options;
    if (channels.length === 0) return {};
    const { thread_id, checkpoint_ns = "", checkpoint_id } = config.configurable ?? {};
    const result: Record<string, DeltaChannelHistory> = {};
    for (const ch of channels) result[ch] = { writes: [] };
    if (thread_id === undefined || thread_id === null) return result;
    const rows = await this.run<{
      kind: number;
      channel: string;
      task_id: string;
      type: string;
      blob: Uint8Array;
    }>("getDeltaChannelHistory()", deltaHistorySql(this.tables), [
      String(thread_id),
      checkpoint_ns,
      checkpoint_id ?? null,
      channels,
    ]);
    for (const row of rows) {
      const entry = result[row.channel];
      if (!entry) continue;
      const value = await this.serde.loadsTyped(row.type ?? "json", row.blob);
      if (row.kind === 0) entry.writes.push([row.task_id, row.channel, value]);
      else entry.seed = value;
    }
    return result;
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
    const rows = await this.run<ReadRow>(what, readSql(this.tables, cpSql, order), params, BINARY);
    const groups = groupRows(rows).sort((a, b) => a.head.idx - b.head.idx);
    const saver = this;
    async function* tuples(): AsyncGenerator<CheckpointTuple> {
      for (let i = 0; i < groups.length; i += 1) {
        const group = groups[i] as (typeof groups)[number];
        groups[i] = undefined as never; // let the page's rows go as soon as they are decoded
        const tuple = await toTuple(saver.serde, group);
        if (tuple.checkpoint.v < 4 && tuple.parentConfig) await saver.upgradeLegacySends(tuple);
        yield tuple;
      }
    }
    return { tuples: tuples(), count: groups.length, last: groups.at(-1)?.head };
  }

  private async upgradeLegacySends(tuple: CheckpointTuple): Promise<void> {
    const p = tuple.parentConfig?.configurable ?? {};
    const sends = await this.run<{ type: string; blob: Uint8Array }>(
      "getTuple()",
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
        checkTextKey("channel", channel);
        if (!(channel in values)) return [channel, String(version), "empty", null];
        const [type, bytes] = await this.serde.dumpsTyped(values[channel]);
        return [channel, String(version), type, bytes];
      }),
    );
  }

  private assertFence(rows: Array<{ ok?: number }>, threadId: string, lease: WriteLease): void {
    if (rows[0]?.ok) return;
    throw new CheckpointerError(
      "FENCED",
      `Write to thread "${threadId}" rejected: this worker's lease (fence ${lease.fence}) was taken over by another worker. ` +
        "Stop this run; the thread's new owner continues it.",
    );
  }
}

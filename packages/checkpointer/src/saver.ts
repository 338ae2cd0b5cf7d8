// PostgresCheckpointer: LangGraph's BaseCheckpointSaver on Postgres or PGlite. Validates and
// serializes, reads in one query per page, and hands writes to writer.ts; everything that only
// runs SQL lives in ops/ and sql/ behind the DbSeam it implements.
import type { RunnableConfig } from "@langchain/core/runnables";
import {
  BaseCheckpointSaver,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointTuple,
  type DeltaChannelHistory,
  INTERRUPT,
  type PendingWrite,
  type SerializerProtocol,
  TASKS,
  WRITES_IDX_MAP,
} from "@langchain/langgraph-checkpoint";
import { CompactEncoder } from "./compact/encoder.js";
import { type Fetch, type FetchedRow, resolveReadRows } from "./compact/read.js";
import {
  type Connection,
  type Database,
  loadPg,
  type Queryable,
  type QueryOptions,
  type QueryResult,
  toDatabase,
} from "./db.js";
import { isDatabaseError, SQLSTATE, wrapDbError } from "./errors.js";
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
  type FirstRead,
  type LeaseActivity,
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
  ARCHIVED_ROW,
  checkpointSql,
  legacySendsSql,
  PRE_ROW,
  readProbedSql,
  readSql,
  readWithSql,
} from "./sql/statements.js";
import type { BlobRow, OutcomeResult, OutcomeRow, WriteRow } from "./sql/writes.js";
import { nextChannelVersion } from "./versions.js";
import { asOperation, CheckpointWriter } from "./writer.js";

/**
 * Postgres checkpointer for LangGraph.js: same tables as the official `PostgresSaver`, one round
 * trip per write, reads whose cost does not grow with the thread, locked migrations, NUL-safe.
 */
export class PostgresCheckpointer extends BaseCheckpointSaver implements DbSeam {
  readonly db: Database;
  readonly options: ResolvedOptions;
  readonly tables: Tables;
  private readonly leases = new Map<string, WriteLease>();
  /** Reads answered ahead by a lease's claim statement, by thread (see getTupleWith). */
  private readonly firstReads = new Map<string, FirstRead>();
  private readonly activity = new WeakMap<WriteLease, LeaseActivity>();
  private listeners: OperationListener[] = [];
  private pruneListeners: Array<(result: PruneResult) => void> = [];
  private setupDone?: Promise<void>;
  private readonly writer: CheckpointWriter;
  private readonly writesInProgress = new Set<Promise<unknown>>();
  private readonly order = new CallOrder();
  /** getTuple's statements (latest, by id), built once: hot, so they run prepared. */
  private readonly getTupleSql: readonly [string, string];
  /**
   * The same with the archive probe folded in (see readProbedSql); dropped for good when the
   * archives table is missing (tables set up by another saver), and getTuple probes apart.
   */
  private getTupleProbedSql?: readonly [string, string];
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
    this.getTupleSql = [false, true].map((byId) =>
      readSql(this.tables, checkpointSql(this.tables, byId), "checkpoint_id DESC"),
    ) as [string, string];
    this.getTupleProbedSql = this.getTupleSql.map((read) => readProbedSql(this.tables, read)) as [
      string,
      string,
    ];
    this.db = toDatabase(connection, this.options.endPool, this.options.preparedStatements);
    if (this.options.storage === "compact") {
      this.compactor = new CompactEncoder(
        this.options.compactMaxChain,
        this.options.compactCacheBytes,
      );
    }
    this.writer = new CheckpointWriter(this, this.options.maxConcurrentWrites);
  }

  /** A checkpointer on its own pool (ended by end()). Call setup() before first use. */
  static fromConnString(
    connString: string,
    options?: Omit<PostgresCheckpointerOptions, "endPool">,
  ) {
    const pool = new (loadPg().Pool)({ connectionString: connString });
    return new PostgresCheckpointer(pool, undefined, { ...options, endPool: true });
  }

  /** Group commit's statements so far, by how many writes each carried (1: sent alone). */
  get batchSizes(): ReadonlyMap<number, number> {
    return this.writer.batchSizes;
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
  attachLease(threadId: string, lease: WriteLease, firstRead?: FirstRead): () => void {
    this.leases.set(threadId, lease);
    this.activity.set(lease, { head: null, interrupts: 0 });
    if (firstRead?.threadId === threadId) this.firstReads.set(threadId, firstRead);
    else this.firstReads.delete(threadId);
    return () => {
      if (this.leases.get(threadId) === lease) {
        this.leases.delete(threadId);
        this.firstReads.delete(threadId);
      }
    };
  }

  /**
   * getTuple(config) and `pre` in ONE statement, on one snapshot: a durable run's claim and its
   * first read. `pre(first)` is a statement whose parameters are $1 (the thread id) and $first…
   * (`params`), and whose first result column is `v`; its rows come back as text. An archived
   * thread with no checkpoint throws ARCHIVED, as getTuple does (after `pre` ran).
   */
  async getTupleWith(
    config: RunnableConfig,
    what: string,
    pre: { sql: (first: number) => string; params: readonly unknown[] },
  ): Promise<{ tuple: CheckpointTuple | undefined; pre: string[] }> {
    const params = this.getTupleParams(config);
    if (!params) throw invalid("getTuple", "config.configurable.thread_id is required.");
    const read = this.getTupleSql[params.length === 3 ? 1 : 0];
    const sql = readWithSql(this.tables, read, pre.sql(params.length + 1));
    const rows = await this.run<ReadRow>(what, sql, [...params, ...pre.params], { prepare: true });
    const preRows = rows.filter((r) => r.kind === PRE_ROW).map((r) => r.a as string);
    const archived = rows.some((r) => r.kind === ARCHIVED_ROW);
    const { tuples } = await this.tuplesOf(
      what,
      rows.filter((r) => r.kind < PRE_ROW),
    );
    const tuple = (await tuples.next()).value;
    if (!tuple && archived) {
      const record = await archivedThread(this, params[0] as string);
      if (record) throw archivedError(record);
    }
    return { tuple, pre: preRows };
  }

  /**
   * What was stored under `lease` since it was attached: the last root-namespace checkpoint put
   * and how many interrupt writes (any namespace). Lets a durable run settle without reading the
   * thread back when nothing can be pending.
   */
  leaseActivity(lease: WriteLease): LeaseActivity | undefined {
    return this.activity.get(lease);
  }

  /**
   * Records a durable run's outcome in its ledger row (@agentstate/recovery's finishRun), only
   * while the run still holds `row.fence`: undefined otherwise. Joins group commit like a write,
   * so concurrent runs' outcomes share statements with each other's checkpoints.
   */
  recordRunOutcome(row: OutcomeRow): Promise<OutcomeResult> {
    return this.tracked(this.writer.outcome(row));
  }

  getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const first = this.firstReads.get(String(config.configurable?.thread_id));
    if (first && isFirstRead(first, config)) {
      this.firstReads.delete(first.threadId);
      return Promise.resolve(first.tuple);
    }
    return this.inOrder(config, this.getTupleNow(config));
  }

  /** getTuple's $1 thread, $2 namespace and, when asked by id, $3 checkpoint id (undefined: no thread). */
  private getTupleParams(config: RunnableConfig): unknown[] | undefined {
    const { thread_id, checkpoint_ns = "", checkpoint_id } = config.configurable ?? {};
    if (thread_id === undefined || thread_id === null) return undefined;
    const params: unknown[] = [
      checkKey("getTuple", "thread_id", thread_id),
      checkKey("getTuple", "checkpoint_ns", checkpoint_ns ?? "", true),
    ];
    if (checkpoint_id) params.push(checkKey("getTuple", "checkpoint_id", checkpoint_id));
    return params;
  }

  private async getTupleNow(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const params = this.getTupleParams(config);
    if (!params) return undefined;
    const byId = params.length === 3 ? 1 : 0;
    const probed = this.getTupleProbedSql?.[byId];
    if (probed !== undefined) {
      let rows: ReadRow[] | undefined;
      try {
        rows = await this.run<ReadRow>("getTuple()", probed, params, { prepare: true });
      } catch (error) {
        if (!missingArchives(error)) throw error;
        this.getTupleProbedSql = undefined; // no archives table: read, then probe apart
      }
      if (rows) {
        const archived = rows.some((r) => r.kind === ARCHIVED_ROW);
        const { tuples } = await this.tuplesOf(
          "getTuple()",
          rows.filter((r) => r.kind !== ARCHIVED_ROW),
        );
        const tuple = (await tuples.next()).value;
        if (tuple || !archived) return tuple;
        return this.throwIfArchived(params[0] as string);
      }
    }
    const { tuples } = await this.readPage("getTuple()", this.getTupleSql[byId], params, true);
    const tuple = (await tuples.next()).value;
    if (tuple) return tuple;
    // Not found: one primary-key probe tells an archived thread (ARCHIVED) from a new one.
    return this.throwIfArchived(params[0] as string);
  }

  /** ARCHIVED, with where the archive is, if `threadId` was archived; undefined otherwise. */
  private async throwIfArchived(threadId: string): Promise<undefined> {
    const archived = await archivedThread(this, threadId).catch((error) => {
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
      const page = readSql(this.tables, sql, plan.order);
      const { tuples, count, last } = await this.readPage("list()", page, params);
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
    this.dropFirstRead(config);
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
    this.dropFirstRead(config);
    return this.inOrder(config, this.tracked(this.putWritesNow(config, writes, taskId, taskPath)));
  }

  /** A read answered ahead (attachLease) is stale once the thread is written: from the call on. */
  private dropFirstRead(config: RunnableConfig): void {
    if (this.firstReads.size > 0) this.firstReads.delete(String(config?.configurable?.thread_id));
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
    const checkpointRow = {
      threadId,
      ns,
      checkpointId: id,
      parentId,
      checkpoint: toJsonbText(storedText),
      metadata: metadataText,
    };
    const guard = this.leases.get(threadId);
    await this.writer.put({ kind: "put", checkpoint: checkpointRow, blobs, guard });
    committed?.();
    if (guard && ns === "") {
      const seen = this.activity.get(guard);
      if (seen) seen.head = id;
    }
    return { configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: id } };
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
    const task_ = checkKey("putWrites", "task_id", taskId);
    const path = checkKey("putWrites", "task_path", taskPath, true);
    const rows: WriteRow[] = await Promise.all(
      writes.map(async ([channel, value], idx) => {
        const name = checkKey("putWrites", "channel", channel);
        const [type, blob] = await this.serde.dumpsTyped(value);
        return { channel: name, idx: WRITES_IDX_MAP[name] ?? idx, type, blob };
      }),
    );
    // A special channel maps every write to one idx (a node that called interrupt() twice sends
    // two __resume__ writes): keep the last, as MemorySaver and the official saver do.
    const bySpecialIdx = new Map<number, WriteRow>();
    const regular: WriteRow[] = [];
    for (const row of rows) {
      if (WRITES_IDX_MAP[row.channel] === undefined) regular.push(row);
      else bySpecialIdx.set(row.idx, row);
    }
    const task = { threadId, ns, checkpointId, taskId: task_, taskPath: path };
    const guard = this.leases.get(threadId);
    await this.writer.putWrites({
      kind: "writes",
      task,
      special: [...bySpecialIdx.values()],
      regular,
      guard,
    });
    const seen = guard && this.activity.get(guard);
    if (seen) seen.interrupts += rows.filter((r) => r.channel === INTERRUPT).length;
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
    return (await this.runWithCount<R>(what, sql, params, options)).rows;
  }

  /**
   * As run(), with the statement's row count (see QueryResult.rowCount): the writer's guards
   * read it. @internal
   */
  async runWithCount<R = Record<string, unknown>>(
    what: string,
    sql: string,
    params: readonly unknown[],
    options?: QueryOptions,
  ): Promise<QueryResult<R>> {
    const started = this.listeners.length > 0 ? performance.now() : 0;
    try {
      const result = await this.db.query<R>(sql, params, options);
      if (started) this.emit(what, started, true);
      return result;
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
  private async readPage(what: string, sql: string, params: unknown[], prepare = false) {
    // Text results, not binary: node-postgres decodes every field of a binary result as UTF-8
    // before parsing it, which mangles negative integers (special writes' idx), integers ≥ 128
    // and raw-bytes blobs. bytea arrives as hex and pg's parser turns it into a Buffer.
    const rows = await this.run<ReadRow>(what, sql, params, { prepare });
    return this.tuplesOf(what, rows);
  }

  /** A page's rows as tuples, decoded one at a time as the caller pulls them. */
  private async tuplesOf(what: string, rows: ReadRow[]) {
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
      legacySendsSql(this.tables),
      [p.thread_id, p.checkpoint_ns ?? "", p.checkpoint_id, TASKS],
    );
    if (sends.length > 0)
      await migratePendingSends(this.serde, tuple, sends, () => this.getNextVersion(undefined));
  }

  private async dumpBlobs(
    values: Record<string, unknown>,
    versions: ChannelVersions,
  ): Promise<BlobRow[]> {
    return Promise.all(
      Object.entries(versions).map(async ([name, v]) => {
        const channel = checkKey("put", "channel", name);
        const version = checkKey("put", "version", v);
        if (!(channel in values)) return { channel, version, type: "empty", blob: null };
        const [type, blob] = await this.serde.dumpsTyped(values[channel]);
        return { channel, version, type, blob };
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
}

/** Whether `config` asks getTuple for what `first` read ahead. */
function isFirstRead(first: FirstRead, config: RunnableConfig): boolean {
  const c = config.configurable ?? {};
  return (
    String(c.thread_id) === first.threadId &&
    (c.checkpoint_ns ?? "") === first.checkpointNs &&
    (c.checkpoint_id || undefined) === first.checkpointId
  );
}

/** Whether `error` is Postgres saying the archives table does not exist (SQLSTATE 42P01). */
function missingArchives(error: unknown): boolean {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return (
    cause?.code === SQLSTATE.UNDEFINED_TABLE && /agentstate_archives/.test(cause.message ?? "")
  );
}

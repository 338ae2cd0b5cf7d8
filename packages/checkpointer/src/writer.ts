// Sends the saver's writes: alone, or through group commit (batch.ts) as one combined statement,
// guarded by a durable run's fence or not. The saver serializes and validates; this module only
// turns typed jobs into statements and their results into FENCED errors.
import { checkpointKey, type JobResult, WriteCoalescer, writeKey } from "./batch.js";
import type { Queryable, QueryOptions, QueryResult } from "./db.js";
import { CheckpointerError, wrapDbError } from "./errors.js";
import { invalid } from "./input.js";
import type { DbSeam } from "./seam.js";
import {
  type BatchGuard,
  type BatchResultRow,
  type BatchRows,
  batchParams,
  batchStatement,
  checkGuardStatement,
  type Guard,
  guardKey,
  guardProven,
  type OutcomeResult,
  type OutcomeRow,
  outcomeStatement,
  putStatement,
  putWritesHeadParams,
  putWritesStatement,
  WRITE_ROW_PARAMS,
  type WriteJob,
} from "./sql/writes.js";

/** Parameters at most per statement; Postgres' wire limit is 65535. */
export const MAX_PARAMS = 60_000;

/** The seam, plus the row count of a statement (guarded writes return no rows: see guardProven). */
export interface WriterDb extends DbSeam {
  runWithCount<R>(
    what: string,
    sql: string,
    params: readonly unknown[],
    options?: QueryOptions,
  ): Promise<QueryResult<R>>;
}

export class CheckpointWriter {
  private readonly coalescer?: WriteCoalescer;

  /** `concurrency`: write statements in flight at once (0: no group commit). */
  constructor(
    private readonly db: WriterDb,
    concurrency: number,
  ) {
    if (concurrency > 0) {
      this.coalescer = new WriteCoalescer(concurrency, {
        maxParams: MAX_PARAMS,
        params: batchParams,
        one: (job) => this.one(job),
        many: (jobs) => this.many(jobs),
      });
    }
  }

  /** Statements sent by group commit, by how many writes each carried. */
  get batchSizes(): ReadonlyMap<number, number> {
    return this.coalescer?.batchSizes ?? new Map();
  }

  /** Stores a put's checkpoint and blobs; FENCED if its guard no longer holds. */
  async put(job: Extract<WriteJob, { kind: "put" }>): Promise<void> {
    if (this.coalescer && batchParams(job) <= MAX_PARAMS) {
      await this.coalescer.submit(job).catch(asOperation("put()"));
      return;
    }
    const { params } = putStatement(this.db.tables, job);
    if (params.length > MAX_PARAMS) {
      throw invalid(
        "put",
        `${job.blobs.length} channels in one checkpoint is more than one statement can carry.`,
      );
    }
    await this.one(job);
  }

  /** Records a durable run's outcome (see OutcomeRow); joins group commit like the writes. */
  async outcome(row: OutcomeRow): Promise<OutcomeResult> {
    const job = { kind: "outcome", outcome: row } as const;
    if (this.coalescer) {
      return (await this.coalescer.submit(job).catch(asOperation("finishRun()"))) as OutcomeResult;
    }
    return this.one(job) as Promise<OutcomeResult>;
  }

  /** Stores a task's writes, all or nothing; FENCED if its guard no longer holds. */
  async putWrites(job: Extract<WriteJob, { kind: "writes" }>): Promise<void> {
    if (this.coalescer && batchParams(job) <= MAX_PARAMS) {
      await this.coalescer.submit(job).catch(asOperation("putWrites()"));
      return;
    }
    const perStatement = Math.floor(
      (MAX_PARAMS - putWritesHeadParams(!!job.guard)) / WRITE_ROW_PARAMS,
    );
    if (job.special.length + job.regular.length <= perStatement) {
      await this.one(job);
      return;
    }
    // Only a task with tens of thousands of writes gets here: chunks, still all-or-nothing.
    await this.db.transaction("putWrites()", async (tx) => {
      for (const [list, special] of [
        [job.special, true],
        [job.regular, false],
      ] as const) {
        for (let i = 0; i < list.length; i += perStatement) {
          const chunk = list.slice(i, i + perStatement);
          const { sql, params } = putWritesStatement(
            this.db.tables,
            job.task,
            special ? chunk : [],
            special ? [] : chunk,
            job.guard,
          );
          const { rowCount } = await tx.query(sql, params);
          if (
            job.guard &&
            !(await this.held(tx, rowCount, special, job.task.threadId, job.guard))
          ) {
            throw fenced(job.task.threadId, job.guard, "putWrites");
          }
        }
      }
    });
  }

  /** One job alone, as its own statement; an outcome's result, undefined for writes. */
  private async one(job: WriteJob): Promise<OutcomeResult> {
    if (job.kind === "outcome") {
      const { sql, params, prepare } = outcomeStatement(this.db.tables, job.outcome);
      const rows = await this.db.run<{ queued: boolean }>("finishRun()", sql, params, { prepare });
      return rows[0] ? { queued: rows[0].queued } : undefined;
    }
    if (job.kind === "put") {
      const { sql, params, prepare } = putStatement(this.db.tables, job);
      const { rowCount } = await this.db.runWithCount("put()", sql, params, { prepare });
      const { guard, checkpoint } = job;
      if (guard && !(await this.held("put()", rowCount, true, checkpoint.threadId, guard))) {
        throw fenced(checkpoint.threadId, guard, "put");
      }
      return undefined;
    }
    const { task, special, regular, guard } = job;
    const { sql, params, prepare } = putWritesStatement(
      this.db.tables,
      task,
      special,
      regular,
      guard,
    );
    const { rowCount } = await this.db.runWithCount("putWrites()", sql, params, { prepare });
    // The special writes' upsert is the top-level statement when there are any (putWritesSql).
    const counted = special.length > 0;
    if (guard && !(await this.held("putWrites()", rowCount, counted, task.threadId, guard))) {
      throw fenced(task.threadId, guard, "putWrites");
    }
    return undefined;
  }

  /**
   * Whether a guarded write's guard held: its row count says, or else (no row landed, each maybe
   * for a conflict) one more statement asks the ledger: as operation `on`, or in the transaction
   * the write ran in. `countsEveryRow`: see guardProven.
   */
  private async held(
    on: string | Queryable,
    rowCount: number | null | undefined,
    countsEveryRow: boolean,
    threadId: string,
    guard: Guard,
  ): Promise<boolean> {
    const proven = guardProven(rowCount, countsEveryRow);
    if (proven !== undefined) return proven;
    const { sql, params, prepare } = checkGuardStatement(this.db.tables, threadId, guard);
    const rows =
      typeof on === "string"
        ? await this.db.run(on, sql, params, { prepare })
        : (await on.query(sql, params)).rows;
    return rows.length > 0;
  }

  /**
   * Several jobs as one statement, in arrival order. Rows that upsert (checkpoints, special
   * writes) are merged by key, the last job winning, since Postgres refuses to update one row
   * twice in a statement; inserts-if-absent (blobs, regular writes) keep every row, so the first
   * one stays. Guarded jobs learn from the result whether their fence still held.
   */
  private async many(jobs: WriteJob[]): Promise<JobResult[]> {
    const guards = new Map<string, BatchGuard>();
    const rows: BatchRows = {
      guards: [],
      blobs: [],
      checkpoints: [],
      special: [],
      regular: [],
      outcomes: [],
    };
    const checkpoints = new Map<string, BatchRows["checkpoints"][number]>();
    const special = new Map<string, BatchRows["special"][number]>();
    for (const job of jobs) {
      if (job.kind === "outcome") {
        rows.outcomes.push(job.outcome);
        continue;
      }
      const fence = job.guard?.fence ?? null;
      if (job.kind === "put") {
        const c = job.checkpoint;
        if (job.guard) addGuard(guards, c.threadId, job.guard);
        checkpoints.set(checkpointKey(c), { row: c, fence });
        for (const b of job.blobs)
          rows.blobs.push({ threadId: c.threadId, ns: c.ns, row: b, fence });
      } else {
        if (job.guard) addGuard(guards, job.task.threadId, job.guard);
        for (const w of job.special)
          special.set(writeKey(job.task, w), { task: job.task, row: w, fence });
        for (const w of job.regular) rows.regular.push({ task: job.task, row: w, fence });
      }
    }
    rows.guards = [...guards.values()];
    rows.checkpoints = [...checkpoints.values()];
    rows.special = [...special.values()];
    const { sql, params, prepare } = batchStatement(this.db.tables, rows);
    const result = await this.db.run<BatchResultRow>("writeBatch()", sql, params, { prepare });
    const held = new Set<string>();
    const settled = new Map<string, boolean>();
    for (const r of result) {
      if (r.k === "g") held.add(guardKey(r.thread_id, r.fence));
      else if (r.k === "o") settled.set(guardKey(r.thread_id, r.fence), r.queued === true);
    }
    return jobs.map((job): JobResult => {
      if (job.kind === "outcome") {
        const queued = settled.get(guardKey(job.outcome.threadId, job.outcome.fence));
        return { value: queued === undefined ? undefined : { queued } };
      }
      if (!job.guard) return { value: undefined };
      const threadId = job.kind === "put" ? job.checkpoint.threadId : job.task.threadId;
      if (held.has(guardKey(threadId, job.guard.fence))) return { value: undefined };
      return { error: fenced(threadId, job.guard, job.kind === "put" ? "put" : "putWrites") };
    });
  }
}

/** One guard row per (thread, fence). */
function addGuard(guards: Map<string, BatchGuard>, threadId: string, guard: Guard): void {
  guards.set(guardKey(threadId, guard.fence), { threadId, fence: guard.fence });
}

function fenced(threadId: string, guard: Guard, operation: string): CheckpointerError {
  return new CheckpointerError(
    "FENCED",
    `Write to thread "${threadId}" rejected: this worker's lease (fence ${guard.fence}) was taken over by another worker. ` +
      "Stop this run; the thread's new owner continues it.",
    { operation },
  );
}

/**
 * A database error raised under an inner statement's name (a combined "writeBatch", prune's
 * "listThreads") reaches the caller under the method it called, re-derived from the driver error.
 */
export function asOperation(what: string) {
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

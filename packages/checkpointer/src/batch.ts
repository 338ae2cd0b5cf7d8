// Group commit: writes that arrive while others are in flight go to the database together.
import { isConnectionError } from "./errors.js";
import type { CheckpointRow, TaskRef, WriteJob, WriteRow } from "./sql/writes.js";

interface Queued {
  job: WriteJob;
  /** Rows the job writes whose outcome depends on order (see rowKeys). */
  keys: string[];
  /** The fence the job is written under, "" when unguarded. */
  fence: string;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** What one job of a combined statement gets: its own error, or its result (outcomes have one). */
export type JobResult = { error: Error } | { value: unknown };

export interface WriteRunner {
  one(job: WriteJob): Promise<unknown>;
  /**
   * The jobs as one statement; rows of one key are merged, the later job winning. Returns, per
   * job, the error that job alone gets (a guarded job whose run lost its fence), or its result.
   */
  many(jobs: WriteJob[]): Promise<JobResult[]>;
  /** Parameters a job adds to a combined statement. */
  params(job: WriteJob): number;
  maxParams: number;
}

/**
 * Group commit for checkpoint writes. At most `limit` write statements are in flight; writes that
 * arrive meanwhile (from other threads) wait and then go together as ONE statement, so under load
 * many threads' checkpoints cost one round trip, one plan and one commit. A lone writer never
 * waits. Writes of one row take effect in call order: they share a statement (merged, last wins),
 * or the later one waits until the earlier one's statement is done. A combined statement that
 * fails for a reason other than the connection is retried job by job, in order, so one bad write
 * never fails another thread's.
 */
export class WriteCoalescer {
  private readonly queue: Queued[] = [];
  private inFlight = 0;
  /** Row keys of statements in flight, with how many hold each. */
  private readonly busy = new Map<string, number>();
  /** Statements sent, by how many jobs each carried (for benchmarks and tuning). */
  readonly batchSizes = new Map<number, number>();

  constructor(
    private readonly limit: number,
    private readonly runner: WriteRunner,
  ) {}

  submit(job: WriteJob): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const fence = job.kind !== "outcome" && job.guard ? String(job.guard.fence) : "";
      this.queue.push({ job, keys: rowKeys(job), fence, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.limit && this.queue.length > 0) {
      const batch = this.take();
      if (batch.length === 0) return; // the head writes a row an in-flight statement writes
      const keys = batch.flatMap((q) => q.keys);
      this.batchSizes.set(batch.length, (this.batchSizes.get(batch.length) ?? 0) + 1);
      for (const k of keys) this.busy.set(k, (this.busy.get(k) ?? 0) + 1);
      this.inFlight += 1;
      void this.execute(batch).finally(() => {
        for (const k of keys) {
          const n = (this.busy.get(k) ?? 1) - 1;
          if (n === 0) this.busy.delete(k);
          else this.busy.set(k, n);
        }
        this.inFlight -= 1;
        this.pump();
      });
    }
  }

  /**
   * The longest prefix of the queue that fits one statement and writes no row still in flight.
   * Two jobs that write one row under different fences never share a statement: a merged row
   * must not land (or not) on the other job's guard.
   */
  private take(): Queued[] {
    const batch: Queued[] = [];
    const fenceOf = new Map<string, string>();
    let params = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0] as Queued;
      if (next.keys.some((k) => this.busy.has(k))) break;
      if (next.keys.some((k) => (fenceOf.get(k) ?? next.fence) !== next.fence)) break;
      const cost = this.runner.params(next.job);
      if (batch.length > 0 && params + cost > this.runner.maxParams) break;
      batch.push(this.queue.shift() as Queued);
      for (const k of next.keys) fenceOf.set(k, next.fence);
      params += cost;
    }
    return batch;
  }

  private async execute(batch: Queued[]): Promise<void> {
    try {
      if (batch.length === 1) {
        const only = batch[0] as Queued;
        only.resolve(await this.runner.one(only.job));
        return;
      }
      const results = await this.runner.many(batch.map((q) => q.job));
      batch.forEach((q, i) => {
        const result = results[i] as JobResult;
        if ("error" in result) q.reject(result.error);
        else q.resolve(result.value);
      });
    } catch (error) {
      if (batch.length === 1 || isConnectionError(error)) {
        for (const q of batch) q.reject(error);
        return;
      }
      // In order: two jobs that wrote one row must land as they were called.
      for (const q of batch) await this.runner.one(q.job).then(q.resolve, q.reject);
    }
  }
}

/** Primary key of a put's checkpoint row. */
export function checkpointKey(c: CheckpointRow): string {
  return `c\u0000${c.threadId}\u0000${c.ns}\u0000${c.checkpointId}`;
}

/** Primary key of one write row of a task. */
export function writeKey(t: TaskRef, row: WriteRow): string {
  return `w\u0000${t.threadId}\u0000${t.ns}\u0000${t.checkpointId}\u0000${t.taskId}\u0000${row.idx}`;
}

/**
 * Rows a job writes where order matters: upserts (checkpoints, special writes: last wins),
 * regular writes (first wins) and a run's ledger row (an outcome: Postgres updates a row once per
 * statement). Blobs are not tracked: a (channel, version) names one value.
 */
function rowKeys(job: WriteJob): string[] {
  if (job.kind === "put") return [checkpointKey(job.checkpoint)];
  if (job.kind === "outcome") return [`r\u0000${job.outcome.threadId}`];
  const keys: string[] = [];
  for (const row of job.special) keys.push(writeKey(job.task, row));
  for (const row of job.regular) keys.push(writeKey(job.task, row));
  return keys;
}

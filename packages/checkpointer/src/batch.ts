import { isConnectionError } from "./errors.js";

/** A put or a task's writes, serialized and ready to be one statement (or part of one). */
export type WriteJob =
  | { kind: "put"; head: unknown[]; blobs: unknown[][] }
  | { kind: "writes"; head: unknown[]; special: unknown[][]; regular: unknown[][] };

interface Queued {
  job: WriteJob;
  /** Rows the job writes whose outcome depends on order (see rowKeys). */
  keys: string[];
  resolve(): void;
  reject(error: unknown): void;
}

export interface WriteRunner {
  one(job: WriteJob): Promise<void>;
  /** The jobs as one statement; rows of one key are merged, the later job winning. */
  many(jobs: WriteJob[]): Promise<void>;
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

  constructor(
    private readonly limit: number,
    private readonly runner: WriteRunner,
  ) {}

  submit(job: WriteJob): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job, keys: rowKeys(job), resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.limit && this.queue.length > 0) {
      const batch = this.take();
      if (batch.length === 0) return; // the head writes a row an in-flight statement writes
      const keys = batch.flatMap((q) => q.keys);
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

  /** The longest prefix of the queue that fits one statement and writes no row still in flight. */
  private take(): Queued[] {
    const batch: Queued[] = [];
    let params = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0] as Queued;
      if (next.keys.some((k) => this.busy.has(k))) break;
      const cost = this.runner.params(next.job);
      if (batch.length > 0 && params + cost > this.runner.maxParams) break;
      batch.push(this.queue.shift() as Queued);
      params += cost;
    }
    return batch;
  }

  private async execute(batch: Queued[]): Promise<void> {
    try {
      if (batch.length === 1) await this.runner.one((batch[0] as Queued).job);
      else await this.runner.many(batch.map((q) => q.job));
      for (const q of batch) q.resolve();
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
export function checkpointKey(head: readonly unknown[]): string {
  return `c\u0000${head[0]}\u0000${head[1]}\u0000${head[2]}`;
}

/** Primary key of one write row of a "writes" job (head: thread, ns, checkpoint, task). */
export function writeKey(head: readonly unknown[], row: readonly unknown[]): string {
  return `w\u0000${head[0]}\u0000${head[1]}\u0000${head[2]}\u0000${head[3]}\u0000${row[1]}`;
}

/**
 * Rows a job writes where order matters: upserts (checkpoints, special writes: last wins) and
 * regular writes (first wins). Blobs are not tracked: a (channel, version) names one value.
 */
function rowKeys(job: WriteJob): string[] {
  if (job.kind === "put") return [checkpointKey(job.head)];
  const keys: string[] = [];
  for (const row of job.special) keys.push(writeKey(job.head, row));
  for (const row of job.regular) keys.push(writeKey(job.head, row));
  return keys;
}

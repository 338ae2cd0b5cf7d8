import { isConnectionError } from "./errors.js";

/** A put or a task's writes, serialized and ready to be one statement (or part of one). */
export type WriteJob =
  | { kind: "put"; head: unknown[]; blobs: unknown[][] }
  | { kind: "writes"; head: unknown[]; special: unknown[][]; regular: unknown[][] };

interface Queued {
  job: WriteJob;
  resolve(): void;
  reject(error: unknown): void;
}

export interface WriteRunner {
  one(job: WriteJob): Promise<void>;
  many(jobs: WriteJob[]): Promise<void>;
  /** Parameters a job adds to a combined statement. */
  params(job: WriteJob): number;
  maxParams: number;
}

/**
 * Group commit for checkpoint writes. At most `limit` write statements are in flight; writes that
 * arrive meanwhile (from other threads) wait and then go together as ONE statement, so under load
 * many threads' checkpoints cost one round trip, one plan and one commit. A lone writer never
 * waits. A combined statement that fails for a reason other than the connection is retried job
 * by job, so one bad write never fails another thread's.
 */
export class WriteCoalescer {
  private readonly queue: Queued[] = [];
  private inFlight = 0;

  constructor(
    private readonly limit: number,
    private readonly runner: WriteRunner,
  ) {}

  submit(job: WriteJob): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.limit && this.queue.length > 0) {
      const batch = this.take();
      this.inFlight += 1;
      void this.execute(batch).finally(() => {
        this.inFlight -= 1;
        this.pump();
      });
    }
  }

  /** The longest prefix of the queue that fits one statement and never upserts a row twice. */
  private take(): Queued[] {
    const batch: Queued[] = [];
    const keys = new Set<string>();
    let params = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0] as Queued;
      const jobKeys = upsertKeys(next.job);
      const cost = this.runner.params(next.job);
      const clash = jobKeys.some((k) => keys.has(k));
      if (batch.length > 0 && (clash || params + cost > this.runner.maxParams)) break;
      batch.push(this.queue.shift() as Queued);
      for (const k of jobKeys) keys.add(k);
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
      await Promise.all(batch.map((q) => this.runner.one(q.job).then(q.resolve, q.reject)));
    }
  }
}

/** Rows a job upserts (DO UPDATE): Postgres refuses to update one row twice in a statement. */
function upsertKeys(job: WriteJob): string[] {
  const [thread, ns, id] = job.head as string[];
  if (job.kind === "put") return [`c\u0000${thread}\u0000${ns}\u0000${id}`];
  const task = job.head[3] as string;
  return job.special.map(
    (row) => `w\u0000${thread}\u0000${ns}\u0000${id}\u0000${task}\u0000${row[1]}`,
  );
}

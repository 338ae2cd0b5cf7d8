// RecoveryService: recovery of one or more graphs sharing a checkpointer — find stuck threads,
// classify and recover one, sweep them all (cron), or run the always-on worker loop.
import type { PostgresCheckpointer } from "@agentstate/checkpointer";
import { inspectThread } from "./detect.js";
import { RecoveryError } from "./errors.js";
import { GraphSet, type RecoverableGraph } from "./graph.js";
import { findCandidates } from "./ledger/candidates.js";
import { type DeadThread, deadThreads } from "./ledger/reads.js";
import { graphIdOf } from "./ledger/records.js";
import {
  type RecoveryOptions,
  type ResolvedRecoveryOptions,
  resolveRecoveryOptions,
} from "./options.js";
import { type RecoverHooks, recoverCandidate, recoverInspected } from "./recover.js";
import type { RecoverResult, StuckState } from "./types.js";
import { parseDuration, pool } from "./util.js";
import { RecoveryWorker, type WorkerOptions, type WorkerStopResult } from "./worker.js";

/** Options of a RecoveryService (recovery options plus sweep knobs). */
export interface RecoveryServiceOptions extends RecoveryOptions {
  /** Threads classified and resumed at the same time. @default 4 */
  concurrency?: number;
  /**
   * Candidates fetched per query, at most. A sweep takes a random 4 × concurrency of each page
   * (four rounds ahead; the rest are read again by its next query), a dry run the whole page.
   * @default 100
   */
  batchSize?: number;
  /** Threads one sweep looks at, at most. @default 1000 */
  maxThreads?: number;
  /** Also consider threads with no ledger row (scans the checkpoint activity index). @default true */
  includeUntracked?: boolean;
}

export interface FindStuckOptions {
  /** Only threads idle at least this long: seconds, or "30s" / "10m" / "2h" / "1d". @default 0 */
  olderThan?: number | string;
  /** @default 100 */
  limit?: number;
  /** Include threads whose backoff has not elapsed. @default true */
  includeDeferred?: boolean;
}

export interface SweepOptions {
  /** Classify and report, change nothing. @default false */
  dryRun?: boolean;
  /** @default 0 */
  olderThan?: number | string;
  /** Called after each thread, for progress output. */
  onProgress?: (progress: SweepProgress) => void;
}

export interface SweepProgress {
  done: number;
  total: number;
  last: RecoverResult | DryRunResult | SweepError;
}

/** What a dry run would have done with a thread. */
export interface DryRunResult {
  threadId: string;
  status: "would_resume" | "would_mark_dead" | "deferred" | "skip";
  reason: string;
  before: StuckState;
}

export interface SweepError {
  threadId: string;
  status: "error";
  error: string;
}

export interface SweepResult {
  dryRun: boolean;
  scanned: number;
  /** Per status: resumed, already_running, not_stuck, waiting, dead, deferred, error (or dry-run statuses). */
  counts: Record<string, number>;
  /** Resumed runs that finished (completed or waiting) vs. failed again. */
  finished: number;
  failedAgain: number;
  results: Array<RecoverResult | DryRunResult | SweepError>;
  durationMs: number;
}

/** What a recovery would do with a thread in this state (for --dry-run). */
export function dryRunResult(r: StuckState): DryRunResult {
  let status: DryRunResult["status"] = "would_resume";
  if ((!r.isStuck && r.state !== "drained") || (r.state === "dead" && !r.canRecover))
    status = "skip";
  else if (!r.canRecover) status = "would_mark_dead";
  else if (r.retryAt) status = "deferred";
  return { threadId: r.threadId, status, reason: r.reason, before: r };
}

/**
 * Finds and recovers stuck threads of one or more graphs: `sweep()` for cron and long-running
 * workers; the single-thread operations for app code. Safe to run on many hosts at once.
 */
export class RecoveryService {
  readonly graphs: GraphSet;
  readonly options: ResolvedRecoveryOptions;
  readonly concurrency: number;
  private readonly batchSize: number;
  /** Candidates a sweep reads per query, of which it takes 4 × concurrency at random. */
  private readonly window: number;
  private readonly maxThreads: number;
  readonly includeUntracked: boolean;
  private worker?: RecoveryWorker;

  constructor(
    graphs: RecoverableGraph | Record<string, RecoverableGraph>,
    options: RecoveryServiceOptions = {},
  ) {
    this.graphs = new GraphSet(graphs);
    this.options = resolveRecoveryOptions(options);
    this.concurrency = options.concurrency ?? 4;
    this.batchSize = options.batchSize ?? 100;
    this.window = this.batchSize;
    this.maxThreads = options.maxThreads ?? 1000;
    this.includeUntracked = options.includeUntracked ?? true;
  }

  get saver(): PostgresCheckpointer {
    return this.graphs.saver;
  }

  get graceSeconds(): number {
    return this.options.graceSeconds;
  }

  private handleFor(graphId: string | null | undefined) {
    const g = this.graphs.get(graphId);
    if (!g) {
      throw new RecoveryError(
        "INVALID_ARGUMENT",
        `Thread belongs to graph "${graphId}", which this service was not given (it has: ${this.graphs.ids.join(", ")}). Pass that graph too: new RecoveryService({ "${graphId}": graph, … }), or --graph ${graphId}=<file>:<export> / langgraph.json for the CLI.`,
      );
    }
    return g;
  }

  /** The thread's graph and the options to recover it with. */
  private resolve(graphId?: string | null) {
    const g = this.handleFor(graphId);
    const o = g.id === this.options.graphId ? this.options : { ...this.options, graphId: g.id };
    return { g, o };
  }

  private async inspect(threadId: string, graphId?: string | null) {
    const { g, o } = this.resolve(graphId);
    return { g, o, inspection: await inspectThread(g.handle, threadId, o) };
  }

  async checkStuckState(threadId: string): Promise<StuckState> {
    const graphId = await graphIdOf(this.saver, threadId);
    return (await this.inspect(threadId, graphId)).inspection.report;
  }

  async recoverStuckSession(
    threadId: string,
    options: RecoveryOptions = {},
  ): Promise<RecoverResult> {
    const graphId = await graphIdOf(this.saver, threadId);
    const g = this.handleFor(graphId);
    const o = resolveRecoveryOptions({ ...this.options, graphId: g.id, ...options });
    return recoverInspected(g.handle, await inspectThread(g.handle, threadId, o), o);
  }

  /**
   * Index-backed candidates, then exact classification through the graph: stuck threads, and
   * drained ones (recoverable at once, not stuck: `isStuck` is false for them).
   */
  async findStuckThreads(query: FindStuckOptions = {}): Promise<StuckState[]> {
    const limit = query.limit ?? 100;
    const candidates = await findCandidates(this.saver, {
      olderThanSeconds: parseDuration(query.olderThan),
      limit,
      includeUntracked: this.includeUntracked,
      graceSeconds: this.options.graceSeconds,
      includeDeferred: query.includeDeferred ?? true,
    });
    const stuck: StuckState[] = [];
    await pool(candidates, this.concurrency, async (c) => {
      if (!this.graphs.get(c.graphId)) return;
      const { inspection } = await this.inspect(c.threadId, c.graphId);
      const r = inspection.report;
      if (r.isStuck || r.state === "drained") stuck.push(r);
    });
    return stuck.sort((a, b) => a.threadId.localeCompare(b.threadId));
  }

  /** Dead threads (need a human or `force`), newest first. */
  async deadThreads(limit = 100): Promise<DeadThread[]> {
    return deadThreads(this.saver, limit);
  }

  /**
   * One pass: fetch due candidates a batch at a time, classify each through its graph and recover
   * the stuck ones, `concurrency` at a time, until no new candidates or `maxThreads` were seen.
   */
  async sweep(options: SweepOptions = {}): Promise<SweepResult> {
    const started = performance.now();
    const dryRun = options.dryRun ?? false;
    const seen = new Set<string>();
    const results: SweepResult["results"] = [];
    const query = (limit: number) =>
      findCandidates(this.saver, {
        olderThanSeconds: parseDuration(options.olderThan),
        limit,
        includeUntracked: this.includeUntracked,
        graceSeconds: this.options.graceSeconds,
        includeDeferred: false,
        exclude: [...seen],
      });
    const one = async (c: { threadId: string; graphId: string | null }) => {
      const r = await this.sweepOne(c.threadId, c.graphId, dryRun);
      results.push(r);
      options.onProgress?.({ done: results.length, total: seen.size, last: r });
    };
    if (dryRun) {
      // Nothing changes, so one page is the answer (the next query would return the same).
      const batch = await query(Math.min(this.batchSize, this.maxThreads));
      for (const c of batch) seen.add(c.threadId);
      await pool(batch, this.concurrency, one);
    } else {
      // Candidates are taken a few rounds ahead, not a page ahead: a list read long before a
      // thread's turn is stale when other workers sweep too (they resumed it, or hold it now),
      // and each stale entry costs a look. Concurrent sweeps all read the same oldest
      // candidates, so each takes a random few rounds' worth of a page (the rest stay for its
      // next query) and goes through them in random order: they mostly take different threads.
      const ahead = Math.min(this.batchSize, 4 * this.concurrency);
      const buffer: Array<{ threadId: string; graphId: string | null }> = [];
      let refill: Promise<void> | undefined;
      let exhausted = false;
      const next = async () => {
        for (;;) {
          const c = buffer.shift();
          if (c) return c;
          if (exhausted || seen.size >= this.maxThreads) return undefined;
          const room = this.maxThreads - seen.size;
          refill ??= query(Math.min(this.window, room))
            .then((batch) => {
              if (batch.length === 0) exhausted = true;
              shuffle(batch);
              const taken = batch.slice(0, Math.min(ahead, room));
              for (const b of taken) seen.add(b.threadId);
              buffer.push(...taken);
            })
            .finally(() => {
              refill = undefined;
            });
          await refill;
        }
      };
      await Promise.all(
        Array.from({ length: this.concurrency }, async () => {
          for (let c = await next(); c; c = await next()) await one(c);
        }),
      );
    }
    const counts: Record<string, number> = {};
    for (const r of results) counts[r.status] = (counts[r.status] ?? 0) + 1;
    const resumed = results.filter((r): r is RecoverResult => r.status === "resumed");
    return {
      dryRun,
      scanned: results.length,
      counts,
      finished: resumed.filter((r) => r.outcome === "completed" || r.outcome === "waiting").length,
      failedAgain: resumed.filter((r) => r.outcome === "failed").length,
      results,
      durationMs: Math.round(performance.now() - started),
    };
  }

  private async sweepOne(
    threadId: string,
    graphId: string | null,
    dryRun: boolean,
  ): Promise<RecoverResult | DryRunResult | SweepError> {
    try {
      if (!dryRun) {
        const { g, o } = this.resolve(graphId);
        return await recoverCandidate(g.handle, threadId, o);
      }
      const { inspection } = await this.inspect(threadId, graphId);
      return dryRunResult(inspection.report);
    } catch (error) {
      return {
        threadId,
        status: "error",
        error: error instanceof Error ? error.message : String(error),
      };
    }
  }

  /**
   * The worker loop used by `agentstate worker` (a long-running process or app code): resumes
   * drained threads as soon as a drain commits (LISTEN/NOTIFY, else polling), crashed ones as
   * soon as their lease expires, `concurrency` at a time, until `stop()`. A number is taken as
   * `maxWaitMs`. Returns the worker (its `stats` feed health checks).
   */
  async start(options: WorkerOptions | number = {}): Promise<RecoveryWorker> {
    if (this.worker) return this.worker;
    const o = typeof options === "number" ? { maxWaitMs: options } : options;
    this.worker = new RecoveryWorker(this, o);
    await this.worker.start();
    return this.worker;
  }

  /**
   * Stops the worker loop: no new claims; its running resumes are drained at their next
   * superstep boundary (unless `drain: false`) and awaited up to `timeoutMs` (default 25 s).
   */
  async stop(options: { drain?: boolean; timeoutMs?: number } = {}): Promise<WorkerStopResult> {
    const worker = this.worker;
    this.worker = undefined;
    return worker ? worker.stop(options) : { drained: 0, abandoned: 0 };
  }

  /**
   * @internal One worker candidate: its ledger row first, then (unless that decides) classify
   * through its graph, and recover it with `hooks`.
   */
  async recoverCandidate(
    threadId: string,
    graphId: string | null,
    hooks: RecoverHooks,
  ): Promise<RecoverResult | undefined> {
    if (!this.graphs.get(graphId)) return undefined;
    const { g, o } = this.resolve(graphId);
    return recoverCandidate(g.handle, threadId, o, hooks);
  }
}

/** `new RecoveryService(graphs, options).findStuckThreads(query)`, for one-off checks. */
export function findStuckThreads(
  graphs: RecoverableGraph | Record<string, RecoverableGraph>,
  query: FindStuckOptions = {},
  options: RecoveryServiceOptions = {},
): Promise<StuckState[]> {
  return new RecoveryService(graphs, options).findStuckThreads(query);
}

/** Fisher–Yates, in place. */
function shuffle<T>(items: T[]): void {
  for (let i = items.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
}

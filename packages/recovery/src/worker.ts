// The always-on recovery loop behind RecoveryService.start() and `agentstate worker`: resumes
// drained threads as soon as a drain commits, crashed ones as soon as their lease expires, a
// bounded number at a time, and drains its own resumes when stopped.
import type { PostgresCheckpointer } from "@agentstate/checkpointer";
import { RunControl } from "@langchain/langgraph";
import { findCandidates } from "./ledger/candidates.js";
import type { RunsNotification } from "./ledger/channel.js";
import { msUntilNextDue } from "./ledger/reads.js";
import { type DrainListener, listenForDrains, type WakeMode } from "./notify.js";
import type { RecoverHooks } from "./recover.js";
import type { RecoverResult } from "./types.js";

/** Options of the worker loop (`service.start(options)`). */
export interface WorkerOptions {
  /** LISTEN for drains on a dedicated connection (falls back to polling if it cannot). @default true */
  listen?: boolean;
  /**
   * A direct Postgres URL for the LISTEN connection when the checkpointer's pool goes through a
   * pooler in transaction mode (PgBouncer), which cannot hold a LISTEN: it needs a session.
   * @default one of the checkpointer's pool connections
   */
  listenUrl?: string;
  /** Poll interval for drained threads when not listening (PGlite, a pooler), ms. @default 1000 */
  pollMs?: number;
  /**
   * Longest wait between two looks at the ledger, ms. Between looks the worker sleeps until the
   * earliest live lease expires (or a backoff ends); this caps that sleep, which bounds how late
   * it sees runs whose leases are shorter than its own.
   * @default 10000
   */
  maxWaitMs?: number;
  /** How often threads with no ledger row are looked for (a heavier query), ms. @default 60000 */
  untrackedEveryMs?: number;
  /** Hears what the worker does (started, mode, claimed, error, draining, stopped). */
  onEvent?: (event: WorkerEvent) => void;
  /** Hears each recovery decision it made. */
  onResult?: (result: RecoverResult) => void;
}

/** One thing the worker did, for structured logs. */
export interface WorkerEvent {
  event: "worker";
  at: string;
  action: "started" | "mode" | "claimed" | "error" | "draining" | "stopped" | "http";
  threadId?: string;
  mode?: WakeMode;
  reason?: string;
  fence?: number;
  attempts?: number;
  inFlight?: number;
  drained?: number;
  abandoned?: number;
  error?: string;
  /** For "http": the port /healthz and /metrics are served on (127.0.0.1). */
  port?: number;
}

/** What the worker needs of the service: one candidate resolved to its graph and recovered. */
export interface WorkerHost {
  readonly saver: PostgresCheckpointer;
  readonly concurrency: number;
  readonly includeUntracked: boolean;
  readonly graceSeconds: number;
  /** Undefined when the thread's graph is not one of the host's. */
  recoverCandidate(
    threadId: string,
    graphId: string | null,
    hooks: RecoverHooks,
  ): Promise<RecoverResult | undefined>;
}

export interface WorkerStats {
  mode: WakeMode;
  inFlight: number;
  resumed: number;
  errors: number;
  draining: boolean;
  startedAt: string;
}

/** Result of `stop()`: resumes that drained at a boundary, and those still busy at the timeout. */
export interface WorkerStopResult {
  drained: number;
  abandoned: number;
}

export class RecoveryWorker {
  private readonly inFlight = new Map<string, { control: RunControl; done: Promise<void> }>();
  private readonly skipUntil = new Map<string, number>();
  private listener?: DrainListener;
  private loopDone?: Promise<void>;
  private stopping = false;
  private pending = false;
  private wakeUp?: () => void;
  private lastUntracked = 0;
  private drainedCount = 0;
  readonly stats: WorkerStats = {
    mode: "poll",
    inFlight: 0,
    resumed: 0,
    errors: 0,
    draining: false,
    startedAt: new Date().toISOString(),
  };

  constructor(
    private readonly host: WorkerHost,
    private readonly options: WorkerOptions = {},
  ) {}

  private emit(e: Omit<WorkerEvent, "event" | "at">): void {
    this.options.onEvent?.({ event: "worker", at: new Date().toISOString(), ...e });
  }

  /** Starts listening and looping; resolves once the first look at the ledger is under way. */
  async start(): Promise<void> {
    if (this.options.listen ?? true) {
      this.listener = await listenForDrains(this.host.saver, (n) => this.heard(n), {
        listenUrl: this.options.listenUrl,
        onMode: (mode, reason) => {
          this.stats.mode = mode;
          this.emit({ action: "mode", mode, reason });
          if (mode === "poll") this.wake();
        },
      });
    } else this.emit({ action: "mode", mode: "poll", reason: "LISTEN turned off: polling" });
    this.stats.mode = this.listener?.mode ?? "poll";
    this.emit({ action: "started", mode: this.stats.mode });
    this.loopDone = this.loop();
  }

  /** A drain was announced (wake up), or a multitask request asks one of our resumes to drain. */
  private heard(n: RunsNotification): void {
    if (n.event === "handoff") {
      const run = n.thread_id === undefined ? undefined : this.inFlight.get(n.thread_id);
      run?.control.requestDrain("a new run was sent to this thread (multitask)");
    } else this.wake();
  }

  /** Wakes the loop now (a drain was announced, a slot freed, stop was called). */
  wake(): void {
    this.pending = true;
    this.wakeUp?.();
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      let full = false;
      let failed = false;
      this.pending = false;
      const free = this.host.concurrency - this.inFlight.size;
      if (free > 0) {
        try {
          const untracked =
            this.host.includeUntracked &&
            Date.now() - this.lastUntracked >= (this.options.untrackedEveryMs ?? 60_000);
          if (untracked) this.lastUntracked = Date.now();
          const batch = await findCandidates(this.host.saver, {
            olderThanSeconds: 0,
            limit: free,
            includeUntracked: untracked,
            graceSeconds: this.host.graceSeconds,
            includeDeferred: false,
            exclude: this.excluded(),
          });
          for (const c of batch) if (!this.stopping) this.dispatch(c.threadId, c.graphId);
          full = batch.length === free;
        } catch (error) {
          failed = true;
          this.stats.errors += 1;
          this.emit({ action: "error", error: (error as Error).message });
        }
      }
      if (this.stopping) break;
      await this.sleep(full && !failed ? 0 : await this.nextWait(failed));
    }
  }

  /** Until the earliest lease expiry or backoff end, capped; sooner when polling for drains. */
  private async nextWait(failed: boolean): Promise<number> {
    const cap = this.options.maxWaitMs ?? 10_000;
    if (failed) return Math.min(cap, 2000);
    let wait = cap;
    if (this.listener?.mode !== "listen") wait = Math.min(wait, this.options.pollMs ?? 1000);
    const now = Date.now();
    for (const until of this.skipUntil.values())
      if (until > now) wait = Math.min(wait, until - now);
    if (this.inFlight.size >= this.host.concurrency) return wait; // a freed slot wakes the loop
    try {
      const due = await msUntilNextDue(this.host.saver, this.excluded());
      // A little past the expiry: the candidate query compares with the database clock.
      if (due !== null) wait = Math.min(wait, due + 20);
    } catch {
      wait = Math.min(wait, 2000);
    }
    return wait;
  }

  /** Never resolves in the same turn: timers (lease renewals) must run between passes. */
  private sleep(ms: number): Promise<void> {
    if (this.pending || this.stopping || ms <= 0) return new Promise((r) => setImmediate(r));
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = () => {
        this.wakeUp = undefined;
        done();
      };
    });
  }

  private excluded(): string[] {
    const now = Date.now();
    for (const [id, until] of this.skipUntil) if (until <= now) this.skipUntil.delete(id);
    return [...this.inFlight.keys(), ...this.skipUntil.keys()];
  }

  private dispatch(threadId: string, graphId: string | null): void {
    const control = new RunControl();
    const done = (async () => {
      try {
        const r = await this.host.recoverCandidate(threadId, graphId, {
          control,
          onClaimed: (c) => this.emit({ action: "claimed", ...c }),
        });
        if (!r) {
          this.skipUntil.set(threadId, Date.now() + 60_000);
          this.emit({ action: "error", threadId, error: `graph "${graphId}" is not loaded here` });
          return;
        }
        if (r.status === "resumed") this.stats.resumed += 1;
        else this.skipUntil.set(threadId, Date.now() + 2000);
        if (r.outcome === "drained") this.drainedCount += 1;
        this.options.onResult?.(r);
      } catch (error) {
        this.stats.errors += 1;
        this.skipUntil.set(threadId, Date.now() + 5000);
        this.emit({ action: "error", threadId, error: (error as Error).message });
      } finally {
        this.inFlight.delete(threadId);
        this.stats.inFlight = this.inFlight.size;
        this.wake();
      }
    })();
    this.inFlight.set(threadId, { control, done });
    this.stats.inFlight = this.inFlight.size;
  }

  /**
   * Stops claiming, then (with `drain`, the default) asks every running resume to stop at its
   * next superstep boundary and waits up to `timeoutMs` for them. Resumes still busy then are
   * left running; if the process exits, their leases lapse and another worker recovers them.
   */
  async stop(options: { drain?: boolean; timeoutMs?: number } = {}): Promise<WorkerStopResult> {
    this.stopping = true;
    this.stats.draining = true;
    this.wake();
    await this.loopDone;
    await this.listener?.close();
    const runs = [...this.inFlight.values()];
    this.emit({ action: "draining", inFlight: runs.length });
    if (options.drain ?? true) for (const r of runs) r.control.requestDrain("worker stopping");
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(runs.map((r) => r.done)),
      new Promise((r) => {
        timer = setTimeout(r, options.timeoutMs ?? 25_000);
      }),
    ]);
    clearTimeout(timer);
    const result = { drained: this.drainedCount, abandoned: this.inFlight.size };
    this.emit({ action: "stopped", ...result });
    return result;
  }
}

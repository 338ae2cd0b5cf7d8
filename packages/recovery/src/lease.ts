// Keeps a durable run's lease while the run makes progress, and the `heartbeat()` helper through
// which tool code reports progress: a long tool is not mistaken for a crash, a hung one does not
// hold its thread forever.
import type { DbSeam } from "@agentstate/checkpointer";
import { getConfig } from "@langchain/langgraph";
import { holdsLease, renewLease } from "./ledger/runs.js";

/**
 * Runs of this process by thread id, so `heartbeat(config)` finds the lease of its run. Kept on
 * globalThis: a graph module loaded by the CLI through tsx (or a second copy of this package)
 * gets its own instance of this module, and its heartbeats must still reach the run.
 */
const REGISTRY = Symbol.for("@agentstate/recovery.leaseKeepers");
const shared = globalThis as Record<symbol, unknown>;
shared[REGISTRY] ??= new Map();
const keepers = shared[REGISTRY] as Map<string, Set<{ touch(): void }>>;

export interface LeaseKeeperOptions {
  leaseSeconds: number;
  heartbeatMs: number;
  stallSeconds: number;
}

/** Why a keeper let go: the thread was taken over (after a stall, or after a pause of this process). */
export type LeaseLoss = "taken_over" | "stalled";

/**
 * Renews the lease every `heartbeatMs` while the run showed progress within `stallSeconds`
 * (a stream chunk, or `heartbeat()`); otherwise only checks that it still owns the thread, so a
 * hung run's lease lapses and a worker takes it over. On loss it stops and calls `onLost`.
 *
 * The timer runs on the event loop: a tool that blocks the loop (synchronous CPU work) longer
 * than `leaseSeconds` loses its thread like a paused process would; its writes are then fenced.
 */
export class LeaseKeeper {
  private lastProgress = Date.now();
  private timer?: NodeJS.Timeout;
  private busy = false;
  private renewing = true;
  /** No progress for `stallSeconds`: the lease is no longer renewed. */
  stalled = false;
  /** Hears (once) that a multitask request asks this run to drain (set by leasedStream). */
  onHandoff?: () => void;

  constructor(
    private readonly db: DbSeam,
    readonly threadId: string,
    private readonly fence: number,
    private readonly o: LeaseKeeperOptions,
    private readonly onLost: (why: LeaseLoss) => void,
  ) {}

  start(): this {
    const set = keepers.get(this.threadId) ?? new Set();
    keepers.set(this.threadId, set);
    set.add(this);
    this.timer = setInterval(() => void this.tick(), this.o.heartbeatMs);
    this.timer.unref?.();
    return this;
  }

  /** The run made progress: keep (or start again) renewing its lease. */
  touch(): void {
    this.lastProgress = Date.now();
  }

  /** Stop extending the lease for good (a drain that timed out): it lapses, a worker recovers it. */
  stopRenewing(): void {
    this.renewing = false;
  }

  stop(): void {
    clearInterval(this.timer);
    const set = keepers.get(this.threadId);
    set?.delete(this);
    if (set?.size === 0) keepers.delete(this.threadId);
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      this.stalled = Date.now() - this.lastProgress > this.o.stallSeconds * 1000;
      const renewed =
        this.renewing && !this.stalled
          ? await renewLease(this.db, this.threadId, this.fence, this.o.leaseSeconds)
          : undefined;
      const owned = renewed ?? (await holdsLease(this.db, this.threadId, this.fence));
      if (renewed?.handoff && this.onHandoff) {
        const handoff = this.onHandoff;
        this.onHandoff = undefined;
        handoff();
      }
      if (!owned) {
        this.stop();
        this.onLost(this.stalled ? "stalled" : "taken_over");
      }
    } catch {
      // Database unreachable: the run's own next write fails, or the lease expires and the
      // thread is recovered by someone else; fencing keeps both cases safe.
    } finally {
      this.busy = false;
    }
  }
}

/** The parts of a node's or tool's config that `heartbeat` reads. */
export interface HeartbeatConfig {
  configurable?: { thread_id?: unknown };
  /** LangGraph's `runtime.heartbeat()` (present when the node has a TimeoutPolicy). */
  heartbeat?: () => void;
}

/**
 * Tells the durable run (and LangGraph's `idleTimeout`, if the node has a TimeoutPolicy) that
 * the current node or tool is still making progress. Call it from long tools every few seconds:
 * the run's lease keeps being renewed past `stallSeconds`. Cheap (no I/O: the lease timer does
 * the renewing). Without `config` it uses the config of the running node (AsyncLocalStorage).
 */
export function heartbeat(config?: HeartbeatConfig): void {
  let c = config;
  if (!c) {
    try {
      c = getConfig() as HeartbeatConfig | undefined;
    } catch {
      return; // not inside a graph run: nothing to report to
    }
  }
  c?.heartbeat?.();
  const threadId = c?.configurable?.thread_id;
  if (threadId === undefined || threadId === null) return;
  for (const keeper of keepers.get(String(threadId)) ?? []) keeper.touch();
}

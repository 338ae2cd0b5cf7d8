// The ledger's side of inspect(): the run's story from agentstate_runs, a classification made
// without the graph (ledger + head checkpoint), and task names read through the graph.
import type { CheckpointTuple } from "@langchain/langgraph-checkpoint";
import { type GraphHandle, threadConfig } from "./graph.js";
import type { ErrorView, InterruptView } from "./inspect-chain.js";
import type { ResolvedRecoveryOptions } from "./options.js";
import type { RunRecord, ThreadFacts } from "./types.js";

/** The ledger row (agentstate_runs) as inspect tells it; the stored input and config are left out. */
export interface LedgerStory {
  status: string;
  owner: string | null;
  leaseUntil: Date | null;
  leaseLive: boolean;
  heartbeatAt: Date | null;
  /** Claims so far: every durable run start and every recovery takes the next fence. */
  fence: number;
  /** Recovery attempts without progress (reset when the head moves or a run finishes). */
  attempts: number;
  nextAttemptAt: Date | null;
  lastError: string | null;
  errorKind: string | null;
  needsReview: boolean;
  graphId: string | null;
  headCheckpointId: string | null;
  startedAt: Date;
  updatedAt: Date;
  /** Why it is in this status (dead, waiting, drained…), as the ledger recorded it. */
  reason: string | null;
  /** The checkpoint the last recovery resumed from, since the last run the app started. */
  lastRecoveryFrom: string | null;
  /** The row was written by a classification, not by a durable run (plain invokes). */
  adopted: boolean;
}

export function ledgerStory(run: RunRecord): LedgerStory {
  const d = run.details ?? {};
  return {
    status: run.status,
    owner: run.owner,
    leaseUntil: run.leaseUntil,
    leaseLive: run.leaseLive,
    heartbeatAt: run.heartbeatAt,
    fence: run.fence,
    attempts: run.attempts,
    nextAttemptAt: run.nextAttemptAt,
    lastError: run.lastError,
    errorKind: run.errorKind,
    needsReview: run.needsReview,
    graphId: run.graphId,
    headCheckpointId: run.headCheckpointId,
    startedAt: run.startedAt,
    updatedAt: run.updatedAt,
    reason: typeof d.reason === "string" ? d.reason : null,
    lastRecoveryFrom: typeof d.attempt_head === "string" ? d.attempt_head : null,
    adopted: d.adopted === true,
  };
}

const SETTLED_OR_ACTIVE = new Set([
  "running",
  "recovering",
  "completed",
  "waiting",
  "failed",
  "crashed",
]);

/**
 * The state without the graph: the same order of checks as checkStuckState, from the ledger row,
 * the head checkpoint's pending writes and the nodes it triggers. Cannot see breakpoints or
 * which in-flight tool calls are idempotent.
 */
export function coarseState(
  facts: ThreadFacts,
  head: CheckpointTuple | undefined,
  inFlight: { interrupts: InterruptView[]; errors: ErrorView[] } | null,
  next: string[],
  o: ResolvedRecoveryOptions,
): { state: string; reason: string; isStuck: boolean; canRecover: boolean } {
  const run = facts.run;
  const is = (state: string, reason: string) => ({
    state,
    reason,
    isStuck: state === "crashed" || state === "failed" || state === "dead",
    canRecover: state === "crashed" || state === "failed",
  });
  const why = (run?.details?.reason as string | undefined) ?? run?.lastError ?? null;
  if (run && (run.status === "running" || run.status === "recovering") && run.leaseLive) {
    return is("running", `lease held by ${run.owner} until ${run.leaseUntil?.toISOString()}`);
  }
  if (run?.status === "dead") return { ...is("dead", why ?? "marked dead"), canRecover: false };
  if (run && !SETTLED_OR_ACTIVE.has(run.status)) {
    return is(run.status, why ?? `ledger status ${run.status}`);
  }
  if (!head) return is("crashed", "the run died before its first checkpoint");
  const interrupted = inFlight?.interrupts ?? [];
  if (interrupted.length > 0) {
    const where = [...new Set(interrupted.map((i) => i.node ?? "a task"))].join(", ");
    return is("waiting", `waiting on interrupt() in ${where}`);
  }
  // The ledger's own "waiting" for this head (settled by the run that stopped there) is trusted
  // before the coarse "nothing next" reading, which cannot see every kind of pending interrupt.
  if (run?.status === "waiting" && run.headCheckpointId === head.checkpoint.id) {
    return is("waiting", why ?? "stopped at a breakpoint or by the caller");
  }
  if (next.length === 0) return is("completed", "no pending work");
  const failed = inFlight?.errors[0];
  if (failed || run?.status === "failed") {
    const where = failed?.node ? `node ${failed.node} failed` : "the run failed";
    return is("failed", `${where}: ${failed?.error ?? run?.lastError ?? "unknown error"}`);
  }
  const pendingIn = [...new Set(next)].join(", ");
  if (run && run.status !== "completed" && run.status !== "waiting") {
    const owner = run.owner ? ` (owner ${run.owner})` : "";
    return is("crashed", `lease expired${owner} with work pending in ${pendingIn}`);
  }
  const idle = Math.round(facts.idleSeconds ?? 0);
  const what = run ? "ledger row settled before the last checkpoint" : "no ledger row";
  if (idle < o.graceSeconds) {
    return is(
      "running",
      `${what}; last checkpoint ${idle}s ago, within the ${o.graceSeconds}s grace period`,
    );
  }
  return is("crashed", `${what} and no checkpoint for ${idle}s with work pending in ${pendingIn}`);
}

interface HistoryCapable {
  getStateHistory?(
    config: unknown,
    options?: { limit?: number },
  ): AsyncIterable<{
    config?: { configurable?: Record<string, unknown> };
    tasks: Array<{ id: string; name: string }>;
  }>;
}

/** Task id → node name for each checkpoint, from the graph's own state history. */
export async function taskNames(
  handle: GraphHandle,
  threadId: string,
  limit: number,
): Promise<Map<string, Map<string, string>>> {
  const out = new Map<string, Map<string, string>>();
  const pregel = handle.pregel as unknown as HistoryCapable;
  if (typeof pregel.getStateHistory !== "function") return out;
  for await (const s of pregel.getStateHistory(threadConfig(threadId), { limit: limit + 1 })) {
    const id = s.config?.configurable?.checkpoint_id;
    if (typeof id === "string") out.set(id, new Map(s.tasks.map((t) => [t.id, t.name])));
  }
  return out;
}

// How a durable run's end is recorded and explained: the ledger outcome of a run that ended
// (completed, waiting, failed), and a FENCED error reworded when the thread was declared dead.
import type { WriteLease } from "@agentstate/checkpointer";
import type { StateSnapshot } from "@langchain/langgraph";
import { isFenced, RecoveryError } from "./errors.js";
import { type GraphHandle, threadConfig } from "./graph.js";
import { backoffMs } from "./ledger/backoff.js";
import { readRun } from "./ledger/records.js";
import type { ResolvedRecoveryOptions } from "./options.js";
import type { LeasedRunResult, RunOutcome } from "./types.js";

/**
 * A FENCED write says a new owner continues the thread. When instead the thread was declared
 * dead while this run was paused (it died before its first checkpoint and its input could not be
 * stored), say so: nobody continues it, and the caller must start it again.
 */
export async function explainFenced(
  handle: GraphHandle,
  threadId: string,
  error: unknown,
): Promise<unknown> {
  if (!isFenced(error)) return error;
  const run = await readRun(handle.saver, threadId).catch(() => undefined);
  if (run?.status !== "dead") return error;
  const why = (run.details.reason as string | undefined) ?? run.lastError ?? "marked dead";
  return new RecoveryError(
    "FENCED",
    `Thread "${threadId}" was declared dead while this run was paused (${why}). Nobody continues it; this run's writes are refused. Start the run again (or re-drive it with agentstate recover --force ${threadId}).`,
    { cause: error },
  );
}

/**
 * The outcome of a run whose stream ended normally, from what the checkpointer stored under its
 * lease, without reading the thread back: with no interrupt written and no static breakpoint
 * that could have stopped it, a normal end means the graph ran out of tasks (completed), and the
 * last root checkpoint is the head. Undefined when that cannot be told (settle() reads instead).
 */
export function settleFromActivity(
  handle: GraphHandle,
  lease: WriteLease,
  config: Record<string, unknown>,
  result: LeasedRunResult,
): RunOutcome | undefined {
  if (result.outcome !== "completed") return undefined;
  const seen = handle.saver.leaseActivity?.(lease);
  if (!seen || seen.head === null || seen.interrupts > 0) return undefined;
  const breakpoints = [
    handle.pregel.interruptBefore,
    handle.pregel.interruptAfter,
    config.interruptBefore,
    config.interruptAfter,
  ];
  if (breakpoints.some((b) => b !== undefined && (!Array.isArray(b) || b.length > 0))) {
    return undefined;
  }
  return { status: "completed", headCheckpointId: seen.head };
}

/** What the ledger should say after a run ended this way. */
export async function settle(
  handle: GraphHandle,
  threadId: string,
  result: LeasedRunResult,
  attempts: number,
  o: ResolvedRecoveryOptions,
): Promise<RunOutcome> {
  if (result.outcome === "failed") {
    const kind = o.classifyError(result.error);
    const message = result.error instanceof Error ? result.error.message : String(result.error);
    const snapshot = await handle.pregel.getState(threadConfig(threadId)).catch(() => undefined);
    return {
      status: "failed",
      headCheckpointId: headOf(snapshot),
      error: message.slice(0, 2000),
      errorKind: kind,
      retryInSeconds: kind === "transient" ? backoffMs(o, attempts + 1) / 1000 : null,
    };
  }
  const snapshot = await handle.pregel.getState(threadConfig(threadId));
  const head = headOf(snapshot);
  const interrupted = snapshot.tasks.filter((t) => (t.interrupts?.length ?? 0) > 0);
  if (interrupted.length > 0) {
    return {
      status: "waiting",
      headCheckpointId: head,
      reason: `waiting on interrupt() in ${interrupted.map((t) => t.name).join(", ")}`,
    };
  }
  if (snapshot.tasks.length === 0) return { status: "completed", headCheckpointId: head };
  const reason =
    result.outcome === "cancelled"
      ? "stopped by the caller before finishing; run it again to continue"
      : `stopped at a breakpoint before ${snapshot.next.join(", ")}`;
  return { status: "waiting", headCheckpointId: head, reason };
}

export function headOf(snapshot: StateSnapshot | undefined): string | null {
  return (snapshot?.config?.configurable?.checkpoint_id as string | undefined) ?? null;
}

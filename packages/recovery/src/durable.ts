import type { RunnableConfig } from "@langchain/core/runnables";
import type { StateSnapshot } from "@langchain/langgraph";
import { errorCode, isFenced, RecoveryError } from "./errors.js";
import { type GraphHandle, type RecoverableGraph, resolveGraph, threadConfig } from "./graph.js";
import { claimForRun, finishRun, type RunOutcome, readRun, renewLease } from "./ledger.js";
import {
  backoffMs,
  type RecoveryOptions,
  type ResolvedRecoveryOptions,
  resolveRecoveryOptions,
} from "./options.js";
import { resumeRecord } from "./resume.js";

/** A stream/invoke config: LangGraph's RunnableConfig plus its stream options. */
export type DurableConfig = RunnableConfig & {
  streamMode?: unknown;
  durability?: "sync" | "async" | "exit";
  [option: string]: unknown;
};

/** How a leased stream ended, reported to whoever drives it (recovery uses it for its result). */
export interface LeasedRunResult {
  outcome: "completed" | "waiting" | "failed" | "lease_lost" | "cancelled";
  error?: unknown;
}

function requireThreadId(config: DurableConfig | undefined): string {
  const id = config?.configurable?.thread_id;
  if (id === undefined || id === null || id === "") {
    throw new RecoveryError(
      "INVALID_ARGUMENT",
      "A durable run needs config.configurable.thread_id: the ledger and the checkpoints are per thread.",
    );
  }
  return String(id);
}

/**
 * Streams a graph run that survives crashes: claims the thread (LEASE_HELD if another live owner
 * has it), renews the lease on a timer and on every checkpoint write, and records the outcome.
 * Writes after the lease was taken over are rejected (FENCED), so a paused worker that wakes up
 * cannot fork the thread. Uses `durability: "sync"` unless the config says otherwise.
 */
export async function streamDurably(
  graph: RecoverableGraph,
  input: unknown,
  config: DurableConfig,
  options: RecoveryOptions = {},
): Promise<AsyncGenerator<unknown>> {
  const handle = resolveGraph(graph);
  const o = resolveRecoveryOptions(options);
  const threadId = requireThreadId(config);
  const resume = await resumeRecord(
    config,
    input,
    o.resumableConfigKeys,
    o.durability,
    handle.saver.serde,
  );
  const claim = await claimForRun(handle.saver, threadId, o, resume);
  if (!claim) {
    const run = await readRun(handle.saver, threadId);
    throw new RecoveryError(
      "LEASE_HELD",
      `Thread "${threadId}" is being run by ${run?.owner ?? "another worker"} (lease until ${run?.leaseUntil?.toISOString() ?? "?"}). ` +
        "Wait for that run to finish; if its worker died, the lease expires and the thread can be recovered.",
    );
  }
  return leasedStream(handle, threadId, claim.fence, 0, input, config, o);
}

/** Like `graph.invoke` under a lease: runs to the end and returns the final state values. */
export async function runDurably(
  graph: RecoverableGraph,
  input: unknown,
  config: DurableConfig,
  options: RecoveryOptions = {},
): Promise<unknown> {
  const stream = await streamDurably(graph, input, { ...config, streamMode: "values" }, options);
  let last: unknown;
  for await (const chunk of stream) last = chunk;
  return last;
}

/**
 * The stream of a run whose lease this process already holds (`fence`). `before` runs under the
 * lease ahead of the graph (recovery uses it to answer in-flight tool calls). `onEnd` hears how
 * it ended after the ledger was updated.
 */
export async function leasedStream(
  handle: GraphHandle,
  threadId: string,
  fence: number,
  attempts: number,
  input: unknown,
  config: DurableConfig,
  o: ResolvedRecoveryOptions,
  hooks: { before?: () => Promise<void>; onEnd?: (r: LeasedRunResult) => void } = {},
): Promise<AsyncGenerator<unknown>> {
  const { saver } = handle;
  const detach = saver.attachLease(threadId, { fence, leaseSeconds: o.leaseSeconds });
  const controller = new AbortController();
  let lost = false;
  let beating = false;
  const timer = setInterval(async () => {
    if (beating) return;
    beating = true;
    try {
      if (!(await renewLease(saver, threadId, fence, o.leaseSeconds))) {
        lost = true;
        controller.abort(
          new RecoveryError(
            "LEASE_LOST",
            `Lease on thread "${threadId}" was taken over (fence ${fence}); this run stops so the new owner can continue.`,
          ),
        );
      }
    } catch {
      // Database unreachable: the run's own next write fails, or the lease expires and the
      // thread is recovered by someone else; fencing keeps both cases safe.
    } finally {
      beating = false;
    }
  }, o.heartbeatMs);
  timer.unref?.();
  const signal = config.signal
    ? AbortSignal.any([config.signal as AbortSignal, controller.signal])
    : controller.signal;

  const finish = async (result: LeasedRunResult): Promise<LeasedRunResult> => {
    clearInterval(timer);
    detach();
    if (lost || isFenced(result.error)) {
      result = { outcome: "lease_lost", error: result.error };
    } else {
      try {
        const outcome = await settle(handle, threadId, result, attempts, o);
        if (result.outcome === "completed" && outcome.status === "waiting") {
          result = { outcome: "waiting" };
        }
        await finishRun(saver, threadId, fence, outcome);
      } catch {
        // Could not record (database down): the lease lapses and the sweep reclassifies it.
      }
    }
    hooks.onEnd?.(result);
    return result;
  };

  let stream: AsyncIterable<unknown>;
  try {
    await hooks.before?.();
    stream = await handle.stream(input, {
      ...config,
      durability: config.durability ?? o.durability,
      signal,
    });
  } catch (error) {
    await finish({ outcome: "failed", error });
    throw await explainFenced(handle, threadId, translate(error, lost));
  }
  return (async function* () {
    let result: LeasedRunResult = { outcome: "cancelled" };
    try {
      for await (const chunk of stream) yield chunk;
      result = { outcome: "completed" };
    } catch (error) {
      const cancelled = config.signal && (config.signal as AbortSignal).aborted && !lost;
      result = { outcome: cancelled ? "cancelled" : "failed", error };
      throw await explainFenced(handle, threadId, translate(error, lost));
    } finally {
      await finish(result);
    }
  })();
}

/** A run aborted because its lease was lost surfaces as LEASE_LOST, not as an AbortError. */
function translate(error: unknown, lost: boolean): unknown {
  if (lost && errorCode(error) !== "FENCED" && !(error instanceof RecoveryError)) {
    return new RecoveryError(
      "LEASE_LOST",
      "This run's lease was taken over by another worker; it stopped without writing further.",
      { cause: error },
    );
  }
  return error;
}

/**
 * A FENCED write says a new owner continues the thread. When instead the thread was declared
 * dead while this run was paused (it died before its first checkpoint and its input could not be
 * stored), say so: nobody continues it, and the caller must start it again.
 */
async function explainFenced(
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

/** What the ledger should say after a run ended this way. */
async function settle(
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

function headOf(snapshot: StateSnapshot | undefined): string | null {
  return (snapshot?.config?.configurable?.checkpoint_id as string | undefined) ?? null;
}

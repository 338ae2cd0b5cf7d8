// The leased run every durable run, resume and queued input goes through: stream the graph under
// a lease this process holds (kept alive by progress), drain at a superstep boundary, record the
// outcome — and then run the inputs queued behind it (multitask "enqueue"), in order, in whichever
// process gets to them first.
import type { FirstRead } from "@agentstate/checkpointer";
import { isGraphDrained, RunControl } from "@langchain/langgraph";
import { errorCode, isFenced, RecoveryError } from "./errors.js";
import { type GraphHandle, threadConfig } from "./graph.js";
import { LeaseKeeper, type LeaseLoss } from "./lease.js";
import { type Claim, claimForRecovery } from "./ledger/claims.js";
import { takeNextQueued } from "./ledger/queue.js";
import { drainRun, finishRun } from "./ledger/runs.js";
import type { ResolvedRecoveryOptions } from "./options.js";
import { loadStoredInput, resumeConfig } from "./resume.js";
import { explainFenced, headOf, settle, settleFromActivity } from "./settle.js";
import type { DurableConfig, LeasedRunResult, RunRecord } from "./types.js";

/** A run whose lease this process already holds, and who hears about it. */
export interface LeasedRun {
  handle: GraphHandle;
  threadId: string;
  /** The claim held: the fence its writes carry, and the attempt it is (0 for an app's run). */
  claim: Claim;
  input: unknown;
  config: DurableConfig;
  options: ResolvedRecoveryOptions;
  /** The graph's first getTuple, read by the claim's statement (see claimAndRead). */
  firstRead?: FirstRead;
  /** Runs under the lease ahead of the graph (recovery answers in-flight tool calls there). */
  before?: () => Promise<void>;
  /** Hears how the run ended, after the ledger was updated. */
  onEnd?: (result: LeasedRunResult) => void;
  /** Hears the run's lease keeper (a drain that times out stops its renewals). */
  onKeeper?: (keeper: LeaseKeeper) => void;
}

/**
 * The stream of a run whose lease this process already holds. A drain (`config.control`) ends it
 * at a superstep boundary with RecoveryError DRAINED and the ledger row `drained`.
 */
export async function leasedStream(run: LeasedRun): Promise<AsyncGenerator<unknown>> {
  const { handle, threadId, claim, input, options: o } = run;
  const { saver } = handle;
  const { fence } = claim;
  // Every leased run can be drained, by a deploy or by a multitask request for its thread.
  const control = (run.config.control as RunControl | undefined) ?? new RunControl();
  const config = { ...run.config, control };
  const lease = { fence, leaseSeconds: o.leaseSeconds };
  const detach = saver.attachLease(threadId, lease, run.firstRead);
  const controller = new AbortController();
  let lost = false;
  const keeper = new LeaseKeeper(saver, threadId, fence, o, (why: LeaseLoss) => {
    lost = true;
    controller.abort(
      new RecoveryError(
        "LEASE_LOST",
        why === "stalled"
          ? `Thread "${threadId}" made no progress for ${o.stallSeconds}s (no step finished, no heartbeat()), so its lease lapsed and another worker took it over (fence ${fence}); this run stops.`
          : `Lease on thread "${threadId}" was taken over (fence ${fence}); this run stops so the new owner can continue.`,
      ),
    );
  }).start();
  keeper.onHandoff = () => control.requestDrain("a new run was sent to this thread (multitask)");
  run.onKeeper?.(keeper);
  const signal = config.signal
    ? AbortSignal.any([config.signal as AbortSignal, controller.signal])
    : controller.signal;

  const finish = async (result: LeasedRunResult): Promise<LeasedRunResult> => {
    keeper.stop();
    detach();
    if (lost || isFenced(result.error)) {
      result = { outcome: "lease_lost", error: result.error };
    } else {
      try {
        if (result.outcome === "drained") {
          const reason = `drained (${control.drainReason ?? "requested"}) by ${o.owner}; any worker resumes it at once`;
          const snapshot = await handle.pregel.getState(threadConfig(threadId));
          const head = headOf(snapshot);
          const reserveSeconds = o.leaseSeconds;
          await drainRun(saver, {
            threadId,
            fence,
            headCheckpointId: head,
            reason,
            reserveSeconds,
          });
        } else {
          const outcome =
            settleFromActivity(handle, lease, config, result) ??
            (await settle(handle, threadId, result, claim.attempts, o));
          if (result.outcome === "completed" && outcome.status === "waiting") {
            result = { outcome: "waiting" };
          }
          const recorded = await finishRun(saver, threadId, fence, outcome);
          // The thread is settled: its queued inputs (multitask "enqueue") run next. An input
          // queued too late for finishRun to see it is started by its enqueuer (the thread is
          // settled by then) or, at worst, by the next sweep, whose candidates include queues.
          if (
            recorded?.queued &&
            (outcome.status === "completed" || outcome.status === "waiting")
          ) {
            continueQueue(handle, threadId, o);
          }
        }
      } catch {
        // Could not record (database down): the lease lapses and the sweep reclassifies it.
      }
    }
    run.onEnd?.(result);
    return result;
  };

  let stream: AsyncIterable<unknown>;
  try {
    await run.before?.();
    stream = await handle.stream(input, {
      ...config,
      durability: config.durability ?? o.durability,
      signal,
    });
  } catch (error) {
    // A drain requested before the run started surfaces here (the stream starts eagerly).
    const [result, thrown] = ending(error);
    await finish(result);
    throw await thrown;
  }
  return (async function* () {
    let result: LeasedRunResult = { outcome: "cancelled" };
    try {
      for await (const chunk of stream) {
        keeper.touch();
        yield chunk;
      }
      result = { outcome: "completed" };
    } catch (error) {
      const [ended, thrown] = ending(error);
      result = ended;
      throw await thrown;
    } finally {
      await finish(result);
    }
  })();

  /** How a run that threw ended, and what its caller gets: DRAINED, LEASE_LOST, FENCED or the error. */
  function ending(error: unknown): [LeasedRunResult, Promise<unknown>] {
    if (isGraphDrained(error) && !lost) {
      const why = (error as { reason?: string }).reason ?? "shutdown";
      const drained = new RecoveryError(
        "DRAINED",
        `The run on thread "${threadId}" stopped at a superstep boundary because a drain was requested (${why}). Its progress is saved; any worker (agentstate worker, RecoveryService.start) resumes it at once.`,
        { cause: error },
      );
      return [{ outcome: "drained", error }, Promise.resolve(drained)];
    }
    const cancelled = config.signal && (config.signal as AbortSignal).aborted && !lost;
    return [
      { outcome: cancelled ? "cancelled" : "failed", error },
      explainFenced(handle, threadId, translate(error, lost)),
    ];
  }
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

/** A leased run streamed to its end (chunks to `onChunk`, mode "updates"): how it ended. */
export async function runToEnd(
  run: Omit<LeasedRun, "onEnd">,
  onChunk?: (chunk: unknown) => void,
): Promise<LeasedRunResult> {
  let ended: LeasedRunResult = { outcome: "failed" };
  try {
    const stream = await leasedStream({
      ...run,
      config: { streamMode: "updates", ...run.config },
      onEnd: (r) => (ended = r),
    });
    for await (const chunk of stream) onChunk?.(chunk);
  } catch (error) {
    ended = { ...ended, error };
  }
  return ended;
}

const running = new Set<Promise<void>>();

/**
 * Runs the thread's queued inputs one after the other, in this process, in the background, if
 * the thread is settled and nobody else took them (each run's end calls this again). Errors are
 * left to the ledger: a queued run that fails or whose process dies is recovered like any other.
 */
export function continueQueue(
  handle: GraphHandle,
  threadId: string,
  o: ResolvedRecoveryOptions,
): void {
  const p = runNextQueued(handle, threadId, o).then(
    () => {},
    () => {},
  );
  running.add(p);
  void p.finally(() => running.delete(p));
}

/** Resolves once no queued run started by this process is running (for apps about to exit). */
export async function queuedRunsSettled(): Promise<void> {
  while (running.size > 0) await Promise.allSettled([...running]);
}

/** What a recovery adds to the runs it starts: its RunControl, and who hears the chunks. */
export interface RunExtras {
  config?: Record<string, unknown>;
  onChunk?: (chunk: unknown) => void;
}

/**
 * Claims the thread for its next queued input and runs it to the end. Undefined when there is
 * none or the thread is not settled (a live run, or one recovery must resume first).
 */
export async function runNextQueued(
  handle: GraphHandle,
  threadId: string,
  o: ResolvedRecoveryOptions,
  extras: RunExtras = {},
): Promise<LeasedRunResult | undefined> {
  const taken = await takeNextQueued(handle.saver, threadId, o);
  if (!taken) return undefined;
  const stored = await loadStoredInput(taken.details, handle.saver.serde);
  const input = "input" in stored ? stored.input : null;
  const config = { ...resumeConfig(threadId, taken.details), ...extras.config };
  const claim = { fence: taken.fence, attempts: 0 };
  return runToEnd({ handle, threadId, claim, input, config, options: o }, extras.onChunk);
}

/** The thread a recovery looks at: its graph, its head checkpoint and its ledger row. */
export interface ThreadAtHead {
  handle: GraphHandle;
  threadId: string;
  head: string | null;
  run: RunRecord | undefined;
}

/**
 * A run that was claimed on a thread with history and died before its first checkpoint (a
 * dequeued input, or any runDurably): the head is still the one it started from, so the
 * checkpoints look settled, but its input never ran. Claims the thread like a recovery and runs
 * the stored input on that head. Undefined when that is not the case.
 */
export async function runUnappliedInput(
  { handle, threadId, head, run }: ThreadAtHead,
  o: ResolvedRecoveryOptions,
  extras: RunExtras = {},
): Promise<LeasedRunResult | undefined> {
  if (!run || !head || run.leaseLive || !["running", "recovering"].includes(run.status)) {
    return undefined;
  }
  if (run.details.start_head !== head || !run.details.input) return undefined;
  const stored = await loadStoredInput(run.details, handle.saver.serde);
  if ("missing" in stored) return undefined;
  const claim = await claimForRecovery(handle.saver, {
    threadId,
    expectedHead: head,
    graphId: run.graphId ?? null,
    options: o,
  });
  if (!claim) return undefined;
  const config = { ...resumeConfig(threadId, run.details), ...extras.config };
  const input = stored.input;
  return runToEnd({ handle, threadId, claim, input, config, options: o }, extras.onChunk);
}

// runDurably / streamDurably and the leased stream every durable run and every resume goes
// through: claim, lease (kept alive by progress), drain at a superstep boundary, outcome.
import type { RunnableConfig } from "@langchain/core/runnables";
import { isGraphDrained, type RunControl } from "@langchain/langgraph";
import { type DrainOptions, drainOnSignals, drainSettings } from "./drain.js";
import { errorCode, isFenced, RecoveryError } from "./errors.js";
import { type GraphHandle, type RecoverableGraph, resolveGraph, threadConfig } from "./graph.js";
import { LeaseKeeper, type LeaseLoss } from "./lease.js";
import { claimForRun, finishRun, readRun } from "./ledger.js";
import { drainRun } from "./ledger-drain.js";
import {
  type RecoveryOptions,
  type ResolvedRecoveryOptions,
  resolveRecoveryOptions,
} from "./options.js";
import { resumeRecord } from "./resume.js";
import { explainFenced, headOf, settle } from "./settle.js";

/** A stream/invoke config: LangGraph's RunnableConfig plus its stream options. */
export type DurableConfig = RunnableConfig & {
  streamMode?: unknown;
  durability?: "sync" | "async" | "exit";
  [option: string]: unknown;
};

/**
 * The final state of a graph: what its `invoke` resolves to — the state values of a compiled
 * `StateGraph`, the agent state of `createAgent()` / `createDeepAgent()`; `unknown` when the graph
 * does not say.
 */
export type GraphState<G> = G extends { invoke(...args: any[]): Promise<infer S> } ? S : unknown;

/** How a leased stream ended, reported to whoever drives it (recovery uses it for its result). */
export interface LeasedRunResult {
  outcome: "completed" | "waiting" | "failed" | "lease_lost" | "cancelled" | "drained";
  error?: unknown;
}

/** Options of runDurably / streamDurably: recovery options plus graceful drain. */
export interface DurableRunOptions extends RecoveryOptions, DrainOptions {}

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
export async function streamDurably<Chunk = unknown>(
  graph: RecoverableGraph,
  input: unknown,
  config: DurableConfig,
  options: DurableRunOptions = {},
): Promise<AsyncGenerator<Chunk>> {
  const handle = resolveGraph(graph);
  const o = resolveRecoveryOptions(options);
  const threadId = requireThreadId(config);
  const { control, timeoutMs, drainOn } = drainSettings(options, config.control);
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
  let keeper: LeaseKeeper | undefined;
  const release = drainOnSignals(drainOn, control, timeoutMs, () => keeper?.stopRenewing());
  try {
    return (await leasedStream(handle, threadId, claim.fence, 0, input, { ...config, control }, o, {
      onKeeper: (k) => (keeper = k),
      onEnd: release,
    })) as AsyncGenerator<Chunk>;
  } catch (error) {
    release();
    throw error;
  }
}

/**
 * Like `graph.invoke` under a lease: runs to the end and returns the final state values, typed
 * as the graph's `invoke` result (`GraphState<G>`).
 */
export async function runDurably<G extends RecoverableGraph, State = GraphState<G>>(
  graph: G,
  input: unknown,
  config: DurableConfig,
  options: DurableRunOptions = {},
): Promise<State> {
  const stream = await streamDurably<State>(
    graph,
    input,
    { ...config, streamMode: "values" },
    options,
  );
  let last: State | undefined;
  for await (const chunk of stream) last = chunk;
  return last as State;
}

/**
 * The stream of a run whose lease this process already holds (`fence`). `before` runs under the
 * lease ahead of the graph (recovery uses it to answer in-flight tool calls). `onEnd` hears how
 * it ended after the ledger was updated. A drain (`config.control`) ends it at a superstep
 * boundary with RecoveryError DRAINED and the ledger row `drained`.
 */
export async function leasedStream(
  handle: GraphHandle,
  threadId: string,
  fence: number,
  attempts: number,
  input: unknown,
  config: DurableConfig,
  o: ResolvedRecoveryOptions,
  hooks: {
    before?: () => Promise<void>;
    onEnd?: (r: LeasedRunResult) => void;
    onKeeper?: (keeper: LeaseKeeper) => void;
  } = {},
): Promise<AsyncGenerator<unknown>> {
  const { saver } = handle;
  const detach = saver.attachLease(threadId, { fence, leaseSeconds: o.leaseSeconds });
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
  hooks.onKeeper?.(keeper);
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
          const reason = `drained (${(config.control as RunControl | undefined)?.drainReason ?? "requested"}) by ${o.owner}; any worker resumes it at once`;
          const snapshot = await handle.pregel.getState(threadConfig(threadId));
          await drainRun(saver, threadId, fence, headOf(snapshot), reason);
        } else {
          const outcome = await settle(handle, threadId, result, attempts, o);
          if (result.outcome === "completed" && outcome.status === "waiting") {
            result = { outcome: "waiting" };
          }
          await finishRun(saver, threadId, fence, outcome);
        }
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

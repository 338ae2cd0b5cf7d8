// runDurably / streamDurably and the leased stream every durable run and every resume goes
// through: claim, lease (kept alive by progress), drain at a superstep boundary, outcome.
import type { RunnableConfig } from "@langchain/core/runnables";
import { isGraphDrained, RunControl } from "@langchain/langgraph";
import { type DrainOptions, drainOnSignals, drainSettings } from "./drain.js";
import { errorCode, isFenced, RecoveryError } from "./errors.js";
import { type GraphHandle, type RecoverableGraph, resolveGraph, threadConfig } from "./graph.js";
import { LeaseKeeper, type LeaseLoss } from "./lease.js";
import { finishRun } from "./ledger.js";
import { drainRun } from "./ledger-drain.js";
import {
  acquireThread,
  continueQueue,
  type EnqueuedRun,
  type MultitaskOptions,
} from "./multitask.js";
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

/** Options of runDurably / streamDurably: recovery options, graceful drain, multitask strategy. */
export interface DurableRunOptions extends RecoveryOptions, DrainOptions, MultitaskOptions {}

/** The stream of streamDurably; empty, with `enqueued` set, when the input was queued instead. */
export type DurableStream<Chunk> = AsyncGenerator<Chunk> & { enqueued?: EnqueuedRun };

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
): Promise<DurableStream<Chunk>> {
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
  const strategy = options.multitask ?? "reject";
  const waitMs = timeoutMs + 2 * o.heartbeatMs + 1000;
  const claim = await acquireThread(handle, threadId, o, resume, strategy, waitMs);
  if (claim.kind === "enqueued") {
    return Object.assign((async function* () {})(), { enqueued: claim.run });
  }
  if (claim.forkFrom) {
    config = { ...config, configurable: { ...config.configurable, checkpoint_id: claim.forkFrom } };
  }
  let keeper: LeaseKeeper | undefined;
  const release = drainOnSignals(drainOn, control, timeoutMs, () => keeper?.stopRenewing());
  try {
    return (await leasedStream(handle, threadId, claim.fence, 0, input, { ...config, control }, o, {
      onKeeper: (k) => (keeper = k),
      onEnd: release,
    })) as DurableStream<Chunk>;
  } catch (error) {
    release();
    throw error;
  }
}

/**
 * Like `graph.invoke` under a lease: runs to the end and returns the final state values, typed
 * as the graph's `invoke` result (`GraphState<G>`). With `multitask: "enqueue"` on a busy thread
 * it returns `{ status: "enqueued", position }` at once instead (see `isEnqueued`).
 */
export async function runDurably<G extends RecoverableGraph, State = GraphState<G>>(
  graph: G,
  input: unknown,
  config: DurableConfig,
  options: DurableRunOptions & { multitask: "enqueue" },
): Promise<State | EnqueuedRun>;
export async function runDurably<G extends RecoverableGraph, State = GraphState<G>>(
  graph: G,
  input: unknown,
  config: DurableConfig,
  options?: DurableRunOptions & { multitask?: "reject" | "interrupt" | "rollback" },
): Promise<State>;
export async function runDurably<G extends RecoverableGraph, State = GraphState<G>>(
  graph: G,
  input: unknown,
  config: DurableConfig,
  options?: DurableRunOptions,
): Promise<State | EnqueuedRun>;
export async function runDurably<G extends RecoverableGraph, State = GraphState<G>>(
  graph: G,
  input: unknown,
  config: DurableConfig,
  options: DurableRunOptions = {},
): Promise<State | EnqueuedRun> {
  const stream = await streamDurably<State>(
    graph,
    input,
    { ...config, streamMode: "values" },
    options,
  );
  if (stream.enqueued) return stream.enqueued;
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
  // Every leased run can be drained, by a deploy or by a multitask request for its thread.
  const control = (config.control as RunControl | undefined) ?? new RunControl();
  config = { ...config, control };
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
  keeper.onHandoff = () => control.requestDrain("a new run was sent to this thread (multitask)");
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
          const reason = `drained (${control.drainReason ?? "requested"}) by ${o.owner}; any worker resumes it at once`;
          const snapshot = await handle.pregel.getState(threadConfig(threadId));
          await drainRun(saver, threadId, fence, headOf(snapshot), reason, o.leaseSeconds);
        } else {
          const outcome = await settle(handle, threadId, result, attempts, o);
          if (result.outcome === "completed" && outcome.status === "waiting") {
            result = { outcome: "waiting" };
          }
          const recorded = await finishRun(saver, threadId, fence, outcome);
          // The thread is settled: its queued inputs (multitask "enqueue") run next.
          if (recorded && (outcome.status === "completed" || outcome.status === "waiting")) {
            continueQueue(handle, threadId, o);
          }
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

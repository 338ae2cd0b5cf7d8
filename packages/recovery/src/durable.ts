// runDurably / streamDurably: the app's entry points for a run that survives crashes. They claim
// the thread (or queue the input, or hand it over, per the multitask strategy) and stream it
// through leased-run.ts, which holds the lease and records the outcome.
import { type DrainOptions, drainOnSignals, drainSettings } from "./drain.js";
import { RecoveryError } from "./errors.js";
import { type RecoverableGraph, resolveGraph } from "./graph.js";
import type { LeaseKeeper } from "./lease.js";
import { leasedStream } from "./leased-run.js";
import { acquireThread, type EnqueuedRun, type MultitaskOptions } from "./multitask.js";
import { type RecoveryOptions, resolveRecoveryOptions } from "./options.js";
import { resumeRecord } from "./resume.js";
import type { DurableConfig } from "./types.js";

/**
 * The final state of a graph: what its `invoke` resolves to — the state values of a compiled
 * `StateGraph`, the agent state of `createAgent()` / `createDeepAgent()`; `unknown` when the graph
 * does not say.
 */
export type GraphState<G> = G extends { invoke(...args: any[]): Promise<infer S> } ? S : unknown;

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
  const claim = await acquireThread(handle, {
    threadId,
    options: o,
    resume,
    strategy,
    waitMs,
    config,
  });
  if (claim.kind === "enqueued") {
    return Object.assign((async function* () {})(), { enqueued: claim.run });
  }
  if (claim.forkFrom) {
    config = { ...config, configurable: { ...config.configurable, checkpoint_id: claim.forkFrom } };
  }
  let keeper: LeaseKeeper | undefined;
  const release = drainOnSignals(drainOn, control, timeoutMs, () => keeper?.stopRenewing());
  try {
    return (await leasedStream({
      handle,
      threadId,
      claim: { fence: claim.fence, attempts: 0 },
      firstRead: claim.firstRead,
      input,
      config: { ...config, control },
      options: o,
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

// A second message while the thread is running: the multitask strategies of runDurably /
// streamDurably (reject, enqueue, interrupt, rollback) and the queue continuation that runs
// enqueued inputs after the current run, in order, in whichever process gets to them first.
import { randomBytes } from "node:crypto";
import { type LeasedRunResult, leasedStream } from "./durable.js";
import { RecoveryError } from "./errors.js";
import type { GraphHandle } from "./graph.js";
import { claimForRecovery, claimForRun, type RunRecord, readRun } from "./ledger.js";
import { cancelHandoff, enqueueInput, requestHandoff, takeNextQueued } from "./ledger-queue.js";
import type { ResolvedRecoveryOptions } from "./options.js";
import { loadStoredInput, type ResumeRecord, resumeConfig } from "./resume.js";

/**
 * What a durable run does when another run holds its thread (the hosted Agent Server's names).
 * - `reject`: refuse with RecoveryError `LEASE_HELD`.
 * - `enqueue`: store the input in Postgres; it runs after the current run (and any queued before
 *   it), even if the current owner dies; the caller gets `{ status: "enqueued", position }`.
 * - `interrupt`: drain the current run at its next superstep boundary (its caller gets `DRAINED`),
 *   then run this input on the thread from where that run stopped (its pending work is dropped).
 * - `rollback`: like interrupt, but run this input from the checkpoint the current run started
 *   from (a fork: the interrupted run's checkpoints stay in the history, off the new head).
 */
export type MultitaskStrategy = "reject" | "enqueue" | "interrupt" | "rollback";

export interface MultitaskOptions {
  /** @default "reject" */
  multitask?: MultitaskStrategy;
}

/** The result of a run that was queued behind the thread's current run instead of started. */
export interface EnqueuedRun {
  status: "enqueued";
  threadId: string;
  /** 1 = runs next. */
  position: number;
}

/** True for the result of a `multitask: "enqueue"` run that was queued rather than run. */
export function isEnqueued(value: unknown): value is EnqueuedRun {
  return (value as EnqueuedRun | null)?.status === "enqueued";
}

/** How the caller gets the thread: claimed (with the checkpoint to fork from), or queued. */
export type Acquired =
  | { kind: "claimed"; fence: number; forkFrom?: string }
  | { kind: "enqueued"; run: EnqueuedRun };

function leaseHeld(threadId: string, owner: string | null | undefined, extra = ""): RecoveryError {
  return new RecoveryError(
    "LEASE_HELD",
    `Thread "${threadId}" is being run by ${owner ?? "another worker"}.${extra} ` +
      'Wait for that run to finish, or pass multitask: "enqueue" | "interrupt" | "rollback".',
  );
}

/** Claims the thread for a new run under `strategy` (see MultitaskStrategy). */
export async function acquireThread(
  handle: GraphHandle,
  threadId: string,
  o: ResolvedRecoveryOptions,
  resume: ResumeRecord,
  strategy: MultitaskStrategy,
  waitMs: number,
): Promise<Acquired> {
  const { saver } = handle;
  if (!["reject", "enqueue", "interrupt", "rollback"].includes(strategy)) {
    throw new RecoveryError(
      "INVALID_CONFIG",
      `multitask must be "reject", "enqueue", "interrupt" or "rollback", got ${JSON.stringify(strategy)}.`,
    );
  }
  if (strategy === "enqueue") {
    if (resume.input && "skipped" in resume.input) {
      throw new RecoveryError(
        "INVALID_ARGUMENT",
        `Cannot enqueue on thread "${threadId}": ${resume.input.skipped}. Queued inputs are stored in Postgres.`,
      );
    }
    // Busy (or inputs already waiting): queue it. Free: claim. Retry if it changed in between.
    for (let i = 0; i < 5; i++) {
      const position = await enqueueInput(saver, threadId, o.graphId ?? null, resume);
      if (position !== undefined) {
        continueQueue(handle, threadId, o); // a no-op unless the thread is settled
        return { kind: "enqueued", run: { status: "enqueued", threadId, position } };
      }
      const claim = await claimForRun(saver, threadId, o, resume);
      if (claim) return { kind: "claimed", fence: claim.fence };
    }
    throw leaseHeld(threadId, (await readRun(saver, threadId))?.owner);
  }
  const claim = await claimForRun(saver, threadId, o, resume);
  if (claim) return { kind: "claimed", fence: claim.fence };
  if (strategy === "reject") {
    const run = await readRun(saver, threadId);
    throw leaseHeld(
      threadId,
      run?.owner,
      ` (lease until ${run?.leaseUntil?.toISOString() ?? "?"}; if its worker died, the lease expires and the thread can be recovered.)`,
    );
  }
  const token = `${o.owner}#${randomBytes(4).toString("hex")}`;
  const asked = await requestHandoff(saver, threadId, token);
  const deadline = Date.now() + waitMs;
  const pollMs = Math.min(200, o.heartbeatMs);
  for (;;) {
    const got = await claimForRun(saver, threadId, o, resume, token);
    if (got) {
      const forkFrom = strategy === "rollback" ? (asked?.startHead ?? undefined) : undefined;
      return { kind: "claimed", fence: got.fence, ...(forkFrom ? { forkFrom } : {}) };
    }
    if (Date.now() > deadline) {
      await cancelHandoff(saver, threadId, token);
      throw leaseHeld(
        threadId,
        asked?.owner,
        ` Its run did not stop at a step boundary within ${Math.round(waitMs / 1000)}s of the ${strategy} request.`,
      );
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
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

/** A leased run of `input` to its end: how it ended. */
async function runToEnd(
  handle: GraphHandle,
  threadId: string,
  claim: { fence: number; attempts: number },
  input: unknown,
  config: Record<string, unknown>,
  o: ResolvedRecoveryOptions,
  onChunk?: (chunk: unknown) => void,
): Promise<{ outcome: LeasedRunResult["outcome"]; error?: unknown }> {
  let ended: LeasedRunResult = { outcome: "failed" };
  try {
    const stream = await leasedStream(
      handle,
      threadId,
      claim.fence,
      claim.attempts,
      input,
      { streamMode: "updates", ...config },
      o,
      { onEnd: (r) => (ended = r) },
    );
    for await (const chunk of stream) onChunk?.(chunk);
  } catch (error) {
    ended = { ...ended, error };
  }
  return ended;
}

/**
 * Claims the thread for its next queued input and runs it to the end. Undefined when there is
 * none or the thread is not settled (a live run, or one recovery must resume first).
 */
export async function runNextQueued(
  handle: GraphHandle,
  threadId: string,
  o: ResolvedRecoveryOptions,
  config: Record<string, unknown> = {},
  onChunk?: (chunk: unknown) => void,
): Promise<{ outcome: LeasedRunResult["outcome"]; error?: unknown } | undefined> {
  const claim = await takeNextQueued(handle.saver, threadId, o);
  if (!claim) return undefined;
  const stored = await loadStoredInput(claim.details, handle.saver.serde);
  const input = "input" in stored ? stored.input : null;
  const runConfig = { ...resumeConfig(threadId, claim.details), ...config };
  return runToEnd(handle, threadId, { ...claim, attempts: 0 }, input, runConfig, o, onChunk);
}

/**
 * A run that was claimed on a thread with history and died before its first checkpoint (a
 * dequeued input, or any runDurably): the head is still the one it started from, so the
 * checkpoints look settled, but its input never ran. Claims the thread like a recovery and runs
 * the stored input on that head. Undefined when that is not the case.
 */
export async function runUnappliedInput(
  handle: GraphHandle,
  threadId: string,
  head: string | null,
  run: RunRecord | undefined,
  o: ResolvedRecoveryOptions,
  config: Record<string, unknown> = {},
  onChunk?: (chunk: unknown) => void,
): Promise<{ outcome: LeasedRunResult["outcome"]; error?: unknown } | undefined> {
  if (!run || !head || run.leaseLive || !["running", "recovering"].includes(run.status)) {
    return undefined;
  }
  if (run.details.start_head !== head || !run.details.input) return undefined;
  const stored = await loadStoredInput(run.details, handle.saver.serde);
  if ("missing" in stored) return undefined;
  const claim = await claimForRecovery(handle.saver, threadId, head, run.graphId ?? null, o);
  if (!claim) return undefined;
  const runConfig = { ...resumeConfig(threadId, run.details), ...config };
  return runToEnd(handle, threadId, claim, stored.input, runConfig, o, onChunk);
}

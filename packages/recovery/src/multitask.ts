// A second message while the thread is running: the multitask strategies of runDurably /
// streamDurably (reject, enqueue, interrupt, rollback). The queued inputs themselves run after
// the current run, from leased-run.ts.
import { randomBytes } from "node:crypto";
import type { FirstRead } from "@agentstate/checkpointer";
import type { RunnableConfig } from "@langchain/core/runnables";
import { RecoveryError } from "./errors.js";
import type { GraphHandle } from "./graph.js";
import { continueQueue } from "./leased-run.js";
import { claimAndRead, claimForRun } from "./ledger/claims.js";
import { cancelHandoff, enqueueInput, requestHandoff } from "./ledger/queue.js";
import { readRun } from "./ledger/records.js";
import type { ResolvedRecoveryOptions } from "./options.js";
import type { ResumeRecord } from "./types.js";

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
  | { kind: "claimed"; fence: number; forkFrom?: string; firstRead?: FirstRead }
  | { kind: "enqueued"; run: EnqueuedRun };

function leaseHeld(threadId: string, owner: string | null | undefined, extra = ""): RecoveryError {
  return new RecoveryError(
    "LEASE_HELD",
    `Thread "${threadId}" is being run by ${owner ?? "another worker"}.${extra} ` +
      'Wait for that run to finish, or pass multitask: "enqueue" | "interrupt" | "rollback".',
  );
}

/** A new run that wants its thread. */
export interface Acquire {
  threadId: string;
  options: ResolvedRecoveryOptions;
  /** What the claim stores for a resume (config, input). */
  resume: ResumeRecord;
  strategy: MultitaskStrategy;
  /** How long `interrupt` / `rollback` wait for the current run to stop at a step boundary. */
  waitMs: number;
  /** The run's config: the claim reads the checkpoint it starts from in the same statement. */
  config: RunnableConfig;
}

/** Claims the thread for a new run under `strategy` (see MultitaskStrategy). */
export async function acquireThread(
  handle: GraphHandle,
  { threadId, options: o, resume, strategy, waitMs, config }: Acquire,
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
      const claim = await claimForRun(saver, { threadId, options: o, resume });
      if (claim) return { kind: "claimed", fence: claim.fence };
    }
    throw leaseHeld(threadId, (await readRun(saver, threadId))?.owner);
  }
  // The claim rides on the run's first read where it can (one round trip for both).
  const fused = await claimAndRead(saver, { threadId, options: o, resume }, config);
  if (fused) return { kind: "claimed", fence: fused.fence, firstRead: fused.firstRead };
  const claim = await claimForRun(saver, { threadId, options: o, resume });
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
    const got = await claimForRun(saver, { threadId, options: o, resume, handoff: token });
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

// Recovery of one thread: act on its classification — resume it under a fresh claim (answering
// or patching tool calls first as the policy says), record it dead, defer it, or leave it — and
// log the decision. Exactly one of any number of workers wins the claim.
import type { RunControl } from "@langchain/langgraph";
import { classifyFromLedger, type Inspection, inspectThread } from "./detect.js";
import { type GraphHandle, type RecoverableGraph, resolveGraph } from "./graph.js";
import { runNextQueued, runToEnd, runUnappliedInput } from "./leased-run.js";
import { claimForRecovery, claimUnstarted } from "./ledger/claims.js";
import { readCandidate, readRun } from "./ledger/records.js";
import { markDead, recordClassification } from "./ledger/runs.js";
import { recoveryEvent } from "./log.js";
import {
  type RecoveryOptions,
  type ResolvedRecoveryOptions,
  resolveRecoveryOptions,
} from "./options.js";
import { answerPendingTasks, outcomeUnknownMessage, patchOrphans } from "./patch.js";
import { loadStoredInput, resumeConfig } from "./resume.js";
import type { RecoverResult, RecoverStatus, StuckState } from "./types.js";

/** Per-call hooks of one recovery (not stored, not part of the resolved options). */
export interface RecoverHooks {
  /** Sees every chunk the resumed run streams (stream mode "updates"). */
  onChunk?: (chunk: unknown) => void;
  /** Drains the resumed run at its next superstep boundary when `requestDrain()` is called. */
  control?: RunControl;
  /** Hears that this call won the claim, before the resumed run starts. */
  onClaimed?: (claim: { threadId: string; fence: number; attempts: number }) => void;
}

/** Extra knobs for one recovery (on top of RecoveryOptions). */
export interface RecoverOptions extends RecoveryOptions, RecoverHooks {}

/**
 * Resumes a stuck thread from its latest checkpoint, exactly once among any number of workers:
 * classify, then claim with one conditional statement that also checks the head checkpoint has
 * not moved, then `stream(null)` under the lease. Never deletes checkpoints.
 */
export async function recoverStuckSession(
  threadId: string,
  graph: RecoverableGraph,
  options: RecoverOptions = {},
): Promise<RecoverResult> {
  const handle = resolveGraph(graph);
  const o = resolveRecoveryOptions(options);
  const inspection = await inspectThread(handle, threadId, o);
  return recoverInspected(handle, inspection, o, options);
}

/**
 * Recovers a sweep's (or the worker's) candidate, reading its ledger row and head checkpoint in
 * one statement first: when the row alone decides — another run holds a live lease, or the
 * thread completed at its head with nothing queued, which is what candidates that other workers
 * took since the candidate query look like — the result is the one a full classification would
 * give (`already_running`, `not_stuck`) after that one statement, and the graph never looks at
 * the thread. Otherwise it is classified on what that statement read (nothing is read again) and
 * recovered as `recoverInspected` does.
 */
export async function recoverCandidate(
  handle: GraphHandle,
  threadId: string,
  o: ResolvedRecoveryOptions,
  hooks: RecoverHooks = {},
): Promise<RecoverResult> {
  const started = performance.now();
  const { facts, tuple } = await readCandidate(handle.saver, threadId);
  const report = classifyFromLedger(threadId, facts);
  if (!report) {
    const inspection = await inspectThread(handle, threadId, o, facts, { tuple });
    return recoverInspected(handle, inspection, o, hooks);
  }
  // As decide() would: a live lease of a tracked thread, or completed and already noted as such
  // at this head, with no unapplied input (the row is not running) and no queued one.
  const status = report.state === "running" ? "already_running" : "not_stuck";
  return logged(o, started, resultOf(report, status, report.reason));
}

/** A decision's result with its duration since `started`, logged. */
function logged(
  o: ResolvedRecoveryOptions,
  started: number,
  decided: Omit<RecoverResult, "durationMs">,
): RecoverResult {
  const result = { ...decided, durationMs: Math.round(performance.now() - started) };
  o.logger(recoveryEvent(result));
  return result;
}

/** A decision's result, before its duration is known. */
function resultOf(
  report: StuckState,
  status: RecoverStatus,
  reason: string,
  extra: Partial<RecoverResult> = {},
): Omit<RecoverResult, "durationMs"> {
  return {
    threadId: report.threadId,
    status,
    reason,
    attempts: report.attempts,
    answeredToolCalls: 0,
    patchedToolCalls: 0,
    before: report,
    ...extra,
  };
}

/** Acts on a classification already made (the sweep classifies first, then calls this), and logs it. */
export async function recoverInspected(
  handle: GraphHandle,
  inspection: Inspection,
  o: ResolvedRecoveryOptions,
  hooks: RecoverHooks = {},
): Promise<RecoverResult> {
  const started = performance.now();
  return logged(o, started, await decide(handle, inspection, o, hooks));
}

async function decide(
  handle: GraphHandle,
  inspection: Inspection,
  o: ResolvedRecoveryOptions,
  hooks: RecoverHooks,
): Promise<Omit<RecoverResult, "durationMs">> {
  const { report, snapshot, analysis, facts } = inspection;
  const { threadId, headCheckpointId: head } = report;
  const result = (status: RecoverStatus, reason: string, extra: Partial<RecoverResult> = {}) =>
    resultOf(report, status, reason, extra);
  const run = facts.run;
  // Keep the ledger truthful for threads that are not stuck (also "adopts" untracked threads,
  // so the next sweep's candidate query skips them until they show new activity).
  const note = async (status: "completed" | "waiting") => {
    if (run?.status === status && run.headCheckpointId === head) return;
    await recordClassification(handle.saver, threadId, {
      status,
      onlyIfHead: head,
      reason: status === "waiting" ? report.reason : null,
    });
  };
  switch (report.state) {
    case "running":
      return result(report.tracked ? "already_running" : "not_stuck", report.reason);
    case "completed":
    case "waiting": {
      const extras = {
        config: hooks.control ? { control: hooks.control } : {},
        onChunk: hooks.onChunk,
      };
      // A run that died between its claim and its first checkpoint: its stored input never ran.
      const unapplied = await runUnappliedInput({ handle, threadId, head, run }, o, extras);
      if (unapplied) {
        const { outcome } = unapplied;
        return result("resumed", `ran its stored input on ${head}; ${outcome}`, { outcome });
      }
      await note(report.state);
      // Inputs queued behind the last run (multitask "enqueue") whose owner did not run them.
      const queued = await runNextQueued(handle, threadId, o, extras);
      if (queued) {
        const { outcome } = queued;
        return result("resumed", `ran its next queued input; ${outcome}`, { outcome });
      }
      return result(report.state === "completed" ? "not_stuck" : "waiting", report.reason);
    }
    case "dead":
      if (!o.force) return result("dead", report.reason);
      break;
    default:
      break;
  }
  if (!report.canRecover) {
    if (head) {
      await recordClassification(handle.saver, threadId, {
        status: "dead",
        onlyIfHead: head,
        reason: report.reason,
        needsReview: report.needsReview,
        error: report.lastError,
        errorKind: report.errorKind,
      });
    } else {
      await markDead(handle.saver, threadId, report.reason);
    }
    return result("dead", report.reason);
  }
  if (report.retryAt && !o.force) {
    return result("deferred", `backoff until ${report.retryAt.toISOString()}`, {
      retryAt: report.retryAt,
    });
  }
  // A run that died before its first checkpoint starts again from the input it stored.
  let input: unknown = null;
  if (!head) {
    const stored = await loadStoredInput(run?.details, handle.saver.serde);
    if ("missing" in stored) return result("dead", report.reason);
    input = stored.input;
  }
  const graphId = report.graphId ?? o.graphId ?? null;
  const claim = head
    ? await claimForRecovery(handle.saver, { threadId, expectedHead: head, graphId, options: o })
    : await claimUnstarted(handle.saver, threadId, o);
  if (!claim) {
    const now = await readRun(handle.saver, threadId);
    const reason = now?.leaseLive
      ? `claimed by ${now.owner} first`
      : "its head checkpoint moved or its backoff started meanwhile; the next sweep looks again";
    return result(now?.leaseLive ? "already_running" : "not_stuck", reason);
  }
  hooks.onClaimed?.({ threadId, fence: claim.fence, attempts: claim.attempts });
  const policy = o.inFlightTools === "review" ? "error" : o.inFlightTools; // review reached here only with force
  // A drained run stopped between steps: its pending tool calls never started, nothing to answer.
  const unsafe =
    report.state === "drained"
      ? []
      : analysis.tasks.filter((t) => t.calls.some((c) => !c.idempotent));
  let answered = 0;
  let patched = 0;
  const before = async () => {
    if (policy === "error" && unsafe.length > 0) {
      answered = await answerPendingTasks(handle, snapshot, unsafe, (c) =>
        outcomeUnknownMessage(c, "the run crashed while it was in flight"),
      );
    }
    // With tool tasks still pending, or a finished task's writes waiting to be applied, an update
    // would end their step; patch only when neither is the case.
    if (
      analysis.orphaned.length > 0 &&
      analysis.tasks.length === 0 &&
      !snapshot.tasks.some((t) => t.result !== undefined)
    ) {
      patched = await patchOrphans(handle, snapshot, analysis.orphaned);
    }
  };
  const config = {
    ...resumeConfig(threadId, run?.details),
    ...(hooks.control ? { control: hooks.control } : {}),
  };
  const ended = await runToEnd(
    { handle, threadId, claim, input, config, options: o, before },
    hooks.onChunk,
  );
  // A run that threw ended as it was recorded when its lease was lost or it drained, else failed.
  if (ended.error !== undefined && ended.outcome !== "lease_lost" && ended.outcome !== "drained") {
    ended.outcome = "failed";
  }
  const error =
    ended.error === undefined || ended.outcome === "drained"
      ? undefined
      : ended.error instanceof Error
        ? ended.error.message
        : String(ended.error);
  return result("resumed", `resumed from ${head} (attempt ${claim.attempts}); ${ended.outcome}`, {
    outcome: ended.outcome,
    attempts: claim.attempts,
    answeredToolCalls: answered,
    patchedToolCalls: patched,
    ...(error ? { error } : {}),
  });
}

/**
 * Answers a thread's orphaned tool calls with "outcome unknown" error ToolMessages, so its next
 * model call is valid. Refuses (returns 0) while a run holds the thread's lease. Recovery does
 * this by itself before resuming; this is for completed or waiting threads.
 */
export async function patchOrphanedToolCalls(
  threadId: string,
  graph: RecoverableGraph,
  options: RecoveryOptions & { asNode?: string } = {},
): Promise<number> {
  const handle = resolveGraph(graph);
  const o = resolveRecoveryOptions(options);
  const { report, snapshot, analysis } = await inspectThread(handle, threadId, o);
  if (report.state === "running" || analysis.orphaned.length === 0) return 0;
  return patchOrphans(handle, snapshot, analysis.orphaned, options.asNode);
}

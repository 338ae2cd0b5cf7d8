// Detection: reads a thread (ledger row, state snapshot, head checkpoint, tool calls) and
// classifies it — running, waiting, completed, failed, crashed, dead or drained — and why.
import type { PostgresCheckpointer } from "@agentstate/checkpointer";
import type { RunnableConfig } from "@langchain/core/runnables";
import type { StateSnapshot } from "@langchain/langgraph";
import type { CheckpointTuple } from "@langchain/langgraph-checkpoint";
import { RecoveryError } from "./errors.js";
import {
  type GraphHandle,
  type PregelLike,
  type RecoverableGraph,
  resolveGraph,
  threadConfig,
} from "./graph.js";
import { type CandidateFacts, readThreadFacts } from "./ledger/records.js";
import {
  type RecoveryOptions,
  type ResolvedRecoveryOptions,
  resolveRecoveryOptions,
} from "./options.js";
import { CheckpointerView, withCheckpointer } from "./saver-view.js";
import { analyzeToolCalls, sendsOf, type ToolCallAnalysis } from "./toolcalls.js";
import { idempotencyChecker } from "./tools.js";
import type { ResumeRecord, RunRecord, StuckState, ThreadFacts, ThreadState } from "./types.js";

/** Everything a classification read, so recovery can act on the same snapshot. */
export interface Inspection {
  report: StuckState;
  snapshot: StateSnapshot;
  analysis: ToolCallAnalysis;
  facts: ThreadFacts;
}

/** The node with the newest version seen: the one that wrote the head checkpoint. */
function lastNodeOf(tuple: CheckpointTuple | undefined): string | null {
  const seen = tuple?.checkpoint.versions_seen ?? {};
  let best: { node: string; v: string | number } | undefined;
  for (const [node, versions] of Object.entries(seen)) {
    if (node.startsWith("__") && node !== "__start__") continue;
    for (const v of Object.values(versions ?? {})) {
      if (!best || compareVersions(v, best.v) > 0) best = { node, v };
    }
  }
  return best?.node ?? null;
}

function compareVersions(a: string | number, b: string | number): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b), "en", { numeric: true });
}

const describeError = (e: unknown) =>
  e && typeof e === "object" && "message" in e ? String((e as Error).message) : String(e);

/**
 * Reads the thread (ledger row, state snapshot, head checkpoint) and classifies it. `known`: the
 * ledger row the caller read already, so what it shows and this classification agree;
 * `prefetched`: the head checkpoint tuple the caller read with it (on the same snapshot), which
 * getState then uses instead of reading it again.
 */
export async function inspectThread(
  handle: GraphHandle,
  threadId: string,
  o: ResolvedRecoveryOptions,
  known?: ThreadFacts,
  prefetched?: { tuple: CheckpointTuple | undefined },
): Promise<Inspection> {
  const config = threadConfig(threadId);
  // getState reads the head checkpoint through the saver; keep that tuple (its Sends and
  // versions_seen are not in the snapshot) instead of reading it a second time.
  const saver = handle.saver;
  const reading = new HeadReader(saver, prefetched);
  const [facts, snapshot] = await Promise.all([
    known ?? readThreadFacts(saver, threadId),
    withCheckpointer(handle.pregel, reading).getState(config),
  ]);
  const head = (snapshot.config?.configurable?.checkpoint_id as string | undefined) ?? null;
  let tuple = reading.head;
  if (head && tuple?.checkpoint.id !== head) tuple = await saver.getTuple(snapshot.config);
  const analysis = analyzeToolCalls(
    handle.pregel,
    snapshot,
    sendsOf(tuple?.checkpoint),
    idempotencyChecker(handle.pregel, o.idempotentTools),
  );
  const { pregel } = handle;
  return {
    report: classify({ pregel, threadId, head, snapshot, tuple, facts, analysis, options: o }),
    snapshot,
    analysis,
    facts,
  };
}

/**
 * Keeps the last root-namespace tuple getState read through it: the head checkpoint. Given the
 * head tuple read already (`prefetched`), answers getState's first read of the latest root
 * checkpoint with it instead of reading again.
 */
class HeadReader extends CheckpointerView {
  head: CheckpointTuple | undefined;

  constructor(
    saver: PostgresCheckpointer,
    private prefetched?: { tuple: CheckpointTuple | undefined },
  ) {
    super(saver);
  }

  override async getTuple(config: RunnableConfig) {
    const root = !config.configurable?.checkpoint_ns;
    const prefetched = this.prefetched;
    this.prefetched = undefined;
    const tuple =
      prefetched && root && !config.configurable?.checkpoint_id
        ? prefetched.tuple
        : await super.getTuple(config);
    if (root) this.head = tuple;
    return tuple;
  }
}

/** What a classification reads: the thread as inspectThread found it. */
interface ClassifyInput {
  pregel: PregelLike;
  threadId: string;
  head: string | null;
  snapshot: StateSnapshot;
  tuple: CheckpointTuple | undefined;
  facts: ThreadFacts;
  analysis: ToolCallAnalysis;
  options: ResolvedRecoveryOptions;
}

function classify({
  pregel,
  threadId,
  head,
  snapshot,
  tuple,
  facts,
  analysis,
  options: o,
}: ClassifyInput): StuckState {
  const run: RunRecord | undefined = facts.run;
  const base = {
    threadId,
    lastNode: lastNodeOf(tuple),
    next: [...snapshot.next],
    pendingToolCalls: analysis.pending,
    scheduledToolCalls: analysis.scheduled,
    orphanedToolCalls: analysis.orphaned,
    ...ledgerPart(head, facts),
  };
  const is = (state: ThreadState, reason: string, canRecover = false): StuckState => ({
    ...base,
    ...verdict(state, reason, canRecover),
  });
  const held = heldReason(run);
  if (held) return is("running", held);
  if (!head) {
    if (!run)
      throw new RecoveryError("THREAD_NOT_FOUND", `Thread "${threadId}" has no checkpoints.`);
    const input = (run.details as ResumeRecord).input;
    if (input && !("skipped" in input)) {
      if (run.status === "dead" && !o.force) {
        return is(
          "dead",
          `${run.details.reason ?? "marked dead"}; re-drive with force (agentstate recover --force ${threadId})`,
        );
      }
      return is(
        "crashed",
        "the run died before its first checkpoint; its input is stored, so a recovery starts it again",
        true,
      );
    }
    const why =
      input && "skipped" in input
        ? `its input was not stored: ${input.skipped}`
        : "its input was not stored";
    return is(
      "crashed",
      `the run died before its first checkpoint and ${why}; nothing to resume: start it again`,
    );
  }
  if (run?.status === "dead") {
    const why = (run.details.reason as string | undefined) ?? run.lastError ?? "marked dead";
    return is(
      "dead",
      `${why}; re-drive with force (agentstate recover --force ${threadId})`,
      o.force,
    );
  }
  const interrupted = snapshot.tasks.filter((t) => (t.interrupts?.length ?? 0) > 0);
  if (interrupted.length > 0) {
    return is("waiting", `waiting on interrupt() in ${interrupted.map((t) => t.name).join(", ")}`);
  }
  if (snapshot.tasks.length === 0) return is("completed", "no pending work");
  if (run?.status === "drained" && run.headCheckpointId === head) {
    // Stopped between steps: the calls its next step makes never started (none is in flight).
    return {
      ...is("drained", (run.details.reason as string | undefined) ?? "drained", true),
      pendingToolCalls: [],
      scheduledToolCalls: [...analysis.scheduled, ...analysis.pending],
    };
  }
  if (run?.status === "waiting" && run.headCheckpointId === head) {
    return is("waiting", (run.details.reason as string | undefined) ?? "stopped at a breakpoint");
  }
  if (!run && isStaticBreakpoint(pregel, snapshot)) {
    return is("waiting", `stopped at a breakpoint before ${snapshot.next.join(", ")}`);
  }
  const exhausted =
    run !== undefined &&
    run.attempts >= o.maxAttempts &&
    run.details.attempt_head === head &&
    !o.force;
  const gaveUp = `gave up after ${run?.attempts} attempts without progress`;
  const review = reviewReason(analysis, o);
  const failedTask = snapshot.tasks.find((t) => t.error);
  if (failedTask || run?.status === "failed") {
    const error = failedTask
      ? describeError(failedTask.error)
      : (run?.lastError ?? "unknown error");
    const kind = run?.errorKind ?? o.classifyError(failedTask?.error ?? { message: error });
    const where = failedTask ? `node ${failedTask.name} failed` : "the run failed";
    if (kind === "permanent" && !o.force) {
      return {
        ...is("failed", `${where} with a permanent error: ${error}`),
        errorKind: kind,
        lastError: error,
      };
    }
    if (exhausted)
      return { ...is("failed", `${gaveUp}: ${error}`), errorKind: kind, lastError: error };
    return {
      ...is("failed", `${where} (${kind}): ${error}`, true),
      errorKind: kind,
      lastError: error,
    };
  }
  // A settled row (completed/waiting) whose thread moved on was continued outside runDurably:
  // like a thread with no row, only the checkpoint's age can tell a live run from a dead one.
  const untracked =
    !run ||
    ((run.status === "completed" || run.status === "waiting" || run.status === "drained") &&
      run.headCheckpointId !== head);
  const idle = Math.round(facts.idleSeconds ?? 0);
  const what = run ? "ledger row settled before the last checkpoint" : "no ledger row";
  let why: string;
  if (!untracked) {
    why = `lease expired${run?.owner ? ` (owner ${run.owner})` : ""} with work pending in ${describeNext(snapshot)}`;
  } else if (idle < o.graceSeconds) {
    return is(
      "running",
      `${what}; last checkpoint ${idle}s ago, within the ${o.graceSeconds}s grace period`,
    );
  } else {
    why = `${what} and no checkpoint for ${idle}s with work pending in ${describeNext(snapshot)}`;
  }
  if (exhausted) return is("crashed", `${gaveUp}: ${why}`);
  if (review) return { ...is("crashed", `${why}; ${review}`), needsReview: true };
  return is("crashed", why, true);
}

/** The fields of a classification that come from the ledger row and the head's id alone. */
function ledgerPart(head: string | null, facts: ThreadFacts) {
  const run = facts.run;
  return {
    lastCheckpointAt: facts.lastCheckpointAt,
    attempts: run?.attempts ?? 0,
    headCheckpointId: head,
    tracked: run !== undefined,
    graphId: run?.graphId ?? null,
    errorKind: run?.errorKind ?? null,
    lastError: run?.lastError ?? null,
    needsReview: run?.needsReview ?? false,
    owner: run?.owner ?? null,
    leaseUntil: run?.leaseUntil ?? null,
    retryAt: run && !run.due ? run.nextAttemptAt : null,
  };
}

function verdict(state: ThreadState, reason: string, canRecover: boolean) {
  return {
    state,
    isStuck: state === "crashed" || state === "failed" || state === "dead",
    canRecover,
    reason,
  };
}

/**
 * Why the thread is "running" when a run or a recovery holds it (a live lease), which a
 * classification says before all else; null when none does.
 */
function heldReason(run: RunRecord | undefined): string | null {
  if (!run || (run.status !== "running" && run.status !== "recovering") || !run.leaseLive) {
    return null;
  }
  return `lease held by ${run.owner} until ${run.leaseUntil?.toISOString()}`;
}

/**
 * The classification of a sweep's candidate when its ledger row alone decides it, as it does for
 * the threads other workers took since the candidate query: a live lease (another run holds it:
 * "running"), or a row that recorded the thread completed at its current head with no input
 * queued ("completed": a durable run or a classification saw no pending work at that very
 * checkpoint). Undefined otherwise: classify through the graph. The state, reason, and ledger
 * fields are what `inspectThread` would report on the same facts; nothing is read through the
 * graph, so `lastNode` is null and `next` and the tool-call lists are empty.
 */
export function classifyFromLedger(
  threadId: string,
  facts: CandidateFacts,
): StuckState | undefined {
  const run = facts.run;
  const held = heldReason(run);
  let state: ThreadState;
  let reason: string;
  if (held) {
    state = "running";
    reason = held;
  } else if (
    run?.status === "completed" &&
    facts.head !== null &&
    run.headCheckpointId === facts.head &&
    !facts.queued
  ) {
    state = "completed";
    reason = "no pending work";
  } else return undefined;
  return {
    threadId,
    lastNode: null,
    next: [],
    pendingToolCalls: [],
    scheduledToolCalls: [],
    orphanedToolCalls: [],
    ...ledgerPart(facts.head, facts),
    ...verdict(state, reason, false),
  };
}

function describeNext(snapshot: StateSnapshot): string {
  const names = snapshot.next.length > 0 ? snapshot.next : snapshot.tasks.map((t) => t.name);
  return [...new Set(names)].join(", ") || "the current step";
}

/** Non-idempotent calls in flight under the "review" policy: a human decides. */
export function reviewReason(
  analysis: ToolCallAnalysis,
  o: ResolvedRecoveryOptions,
): string | null {
  if (o.inFlightTools !== "review" || o.force) return null;
  const unsafe = analysis.pending.filter((c) => !c.idempotent);
  if (unsafe.length === 0) return null;
  return `needs review: tool call(s) ${unsafe.map((c) => `${c.name} (${c.id})`).join(", ")} were in flight and are not idempotent; mark the tool idempotent (CLI: --idempotent <tool>), wrap it with withReceipt, or recover with inFlightTools "error" or "rerun" (CLI: --tool-policy error|rerun, or --force)`;
}

/**
 * An untracked thread paused by a static `interruptBefore` breakpoint looks like a crash: next
 * non-empty, no writes. Treated as waiting, since resuming it would skip a human's review.
 */
function isStaticBreakpoint(pregel: PregelLike, snapshot: StateSnapshot): boolean {
  const before = pregel.interruptBefore;
  if (!before || snapshot.next.length === 0) return false;
  if (snapshot.tasks.some((t) => t.result !== undefined)) return false;
  return before === "*" || snapshot.next.every((n) => before.includes(n));
}

/** Classifies a thread: running, waiting, completed, failed, crashed or dead, and why. */
export async function checkStuckState(
  threadId: string,
  graph: RecoverableGraph,
  options: RecoveryOptions = {},
): Promise<StuckState> {
  const handle = resolveGraph(graph);
  return (await inspectThread(handle, threadId, resolveRecoveryOptions(options))).report;
}

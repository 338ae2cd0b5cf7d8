// inspect(): a thread's run as a timeline (one row per step: nodes, writes, tool calls, interrupts,
// errors), what is in flight, and the ledger's story. Read-only; exact with the graph, useful without.
import type { PostgresCheckpointer } from "@agentstate/checkpointer";
import type { CheckpointTuple } from "@langchain/langgraph-checkpoint";
import { inspectThread } from "./detect.js";
import { RecoveryError } from "./errors.js";
import {
  type GraphHandle,
  isAgentstateSaver,
  type RecoverableGraph,
  resolveGraph,
} from "./graph.js";
import {
  addedMessages,
  changedChannels,
  type ErrorView,
  type InterruptView,
  inputWrites,
  ranBetween,
  readChain,
  taskWrites,
  triggeredBy,
  tupleInfo,
  type WriteView,
} from "./inspect-chain.js";
import { type MessageView, safeJson, truncate } from "./inspect-format.js";
import { coarseState, type LedgerStory, ledgerStory, taskNames } from "./inspect-ledger.js";
import { readReceipts } from "./ledger/receipts.js";
import { readThreadFacts } from "./ledger/records.js";
import {
  type RecoveryOptions,
  type ResolvedRecoveryOptions,
  resolveRecoveryOptions,
} from "./options.js";
import type { StuckState } from "./types.js";

export type { ErrorView, InterruptView, LedgerStory, WriteView };

export interface InspectOptions extends RecoveryOptions {
  /** Steps shown, newest last (older ones are summarised by `truncated`). @default 100 */
  limit?: number;
}

/** A tool call: asked for by a model turn, answered by a ToolMessage, or still pending. */
export interface ToolCallView {
  id: string;
  name: string;
  /** Arguments as JSON, truncated. */
  args: string;
  askedAtStep: number | null;
  answeredAtStep: number | null;
  /** `finished`: answered by a task whose step has no checkpoint yet (kept by a resume). */
  status: "pending" | "done" | "error" | "finished";
  /** The answer, truncated; null while pending. */
  result: string | null;
  /** The effect receipt (withReceipt/runOnce), if any. */
  receipt: string | null;
}

/** One superstep: the checkpoint it produced and what ran to produce it. */
export interface TimelineStep {
  step: number;
  checkpointId: string;
  parentId: string | null;
  time: string | null;
  source: string;
  nodes: string[];
  writes: WriteView[];
  toolCalls: ToolCallView[];
  toolResults: ToolCallView[];
  interrupts: InterruptView[];
  errors: ErrorView[];
  events: string[];
}

/** The step after the head: what still has to run, and what its finished tasks already stored. */
export type InFlightStep = Omit<TimelineStep, "checkpointId" | "time" | "source" | "parentId">;

export interface ThreadInspection {
  threadId: string;
  /** running, waiting, completed, failed, crashed, dead, or a ledger status such as drained. */
  state: string;
  reason: string;
  /** Classified through the graph (tool calls in flight, breakpoints); else from the ledger and the checkpoint. */
  exact: boolean;
  isStuck: boolean;
  canRecover: boolean;
  head: { checkpointId: string; step: number; time: string | null } | null;
  steps: TimelineStep[];
  inFlight: InFlightStep | null;
  toolCalls: ToolCallView[];
  ledger: LedgerStory | null;
  receipts: Array<{
    toolCallId: string;
    status: string;
    createdAt: Date;
    completedAt: Date | null;
  }>;
  /** Older steps exist beyond `limit`. */
  truncated: boolean;
  /** Checkpoints in the window that are not on the head's branch (forks). */
  offBranch: number;
  lastCheckpointAt: Date | null;
}

/** A graph, or just the checkpointer (then the timeline is read without the graph). */
export type InspectSource = RecoverableGraph | PostgresCheckpointer;

export function resolveSource(from: InspectSource): {
  saver: PostgresCheckpointer;
  handle?: GraphHandle;
} {
  if (isAgentstateSaver(from)) return { saver: from };
  const handle = resolveGraph(from);
  return { saver: handle.saver, handle };
}

/** The run of `threadId` as a timeline; `THREAD_NOT_FOUND` when it has no checkpoint and no ledger row. */
export async function inspect(
  threadId: string,
  from: InspectSource,
  options: InspectOptions = {},
): Promise<ThreadInspection> {
  const { saver, handle } = resolveSource(from);
  const o = resolveRecoveryOptions(options);
  return inspectWith(saver, threadId, () => handle, o, options.limit ?? 100);
}

/** inspect() with the graph picked by the thread's recorded graph id (CLI, dashboard). */
export async function inspectWith(
  saver: PostgresCheckpointer,
  threadId: string,
  pick: (graphId: string | null) => GraphHandle | undefined,
  o: ResolvedRecoveryOptions,
  limit = 100,
): Promise<ThreadInspection> {
  const [facts, chain, receipts] = await Promise.all([
    readThreadFacts(saver, threadId),
    readChain(saver, threadId, limit),
    readReceipts(saver, threadId),
  ]);
  if (chain.branch.length === 0 && !facts.run) {
    throw new RecoveryError("THREAD_NOT_FOUND", `Thread "${threadId}" has no checkpoints.`);
  }
  const handle = pick(facts.run?.graphId ?? null);
  let report: StuckState | undefined;
  let names = new Map<string, Map<string, string>>();
  let graphFailed: string | null = null;
  if (handle) {
    try {
      [report, names] = await Promise.all([
        inspectThread(handle, threadId, o, facts).then((i) => i.report),
        taskNames(handle, threadId, limit),
      ]);
    } catch (error) {
      // A thread written by another graph than the one given: still show what the checkpoints say.
      graphFailed = error instanceof Error ? error.message : String(error);
    }
  }
  const ledger = facts.run ? ledgerStory(facts.run) : null;
  const calls = new Map<string, ToolCallView>();
  const receiptOf = new Map(receipts.map((r) => [r.toolCallId, r.status]));
  const track = (messages: MessageView[], step: number | null, finished: boolean) => {
    const asked: ToolCallView[] = [];
    const answered: ToolCallView[] = [];
    for (const m of messages) {
      for (const c of m.toolCalls) {
        const view: ToolCallView = {
          id: c.id,
          name: c.name,
          args: truncate(safeJson(c.args ?? {}), 80),
          askedAtStep: step,
          answeredAtStep: null,
          status: "pending",
          result: null,
          receipt: receiptOf.get(c.id) ?? null,
        };
        calls.set(c.id, view);
        asked.push(view);
      }
      if (m.type === "tool" && m.toolCallId) {
        const view = calls.get(m.toolCallId) ?? {
          id: m.toolCallId,
          name: m.name ?? "?",
          args: "",
          askedAtStep: null,
          answeredAtStep: null,
          status: "pending" as const,
          result: null,
          receipt: receiptOf.get(m.toolCallId) ?? null,
        };
        calls.set(view.id, view);
        view.answeredAtStep = step;
        view.status = m.status === "error" ? "error" : finished ? "finished" : "done";
        view.result = truncate(m.content, 80);
        answered.push(view);
      }
    }
    return { asked, answered };
  };

  const { branch } = chain;
  const shown = branch.length > limit ? branch.slice(-limit) : branch;
  const steps: TimelineStep[] = shown.map((child) => {
    const index = branch.indexOf(child);
    const parent = index > 0 ? branch[index - 1] : undefined;
    const info = tupleInfo(child);
    const graphNames = parent ? names.get(parent.checkpoint.id) : undefined;
    const nodes = !parent
      ? ["(input)"]
      : graphNames && graphNames.size > 0
        ? [...graphNames.values()]
        : ranBetween(parent, child);
    const tw = parent ? taskWrites(parent, nodes, graphNames) : undefined;
    const writes = !parent
      ? inputWrites(child)
      : tw && tw.writes.length > 0
        ? tw.writes
        : changedChannels(parent, child);
    const { asked, answered } = track(addedMessages(parent, child) ?? [], info.step, false);
    return {
      ...info,
      nodes,
      writes,
      toolCalls: asked,
      toolResults: answered,
      interrupts: tw?.interrupts ?? [],
      errors: tw?.errors ?? [],
      events: [],
    };
  });

  const headTuple: CheckpointTuple | undefined = branch.at(-1);
  const head = headTuple ? tupleInfo(headTuple) : null;
  let inFlight: InFlightStep | null = null;
  let pendingNodes: string[] = [];
  if (headTuple && head) {
    pendingNodes = report ? report.next : triggeredBy(headTuple);
    const graphNames = names.get(head.checkpointId);
    const tw = taskWrites(headTuple, pendingNodes, graphNames);
    if (pendingNodes.length > 0 || tw.taskIds.length > 0) {
      const { asked, answered } = track(tw.messages, head.step + 1, true);
      inFlight = {
        step: head.step + 1,
        nodes: pendingNodes,
        writes: tw.writes,
        toolCalls: asked,
        toolResults: answered,
        interrupts: tw.interrupts,
        errors: tw.errors,
        events: [],
      };
    }
  }
  const pending = [...calls.values()].filter((c) => c.status === "pending");
  if (inFlight)
    inFlight.toolCalls = [...inFlight.toolCalls.filter((c) => c.status !== "pending"), ...pending];

  const state = report
    ? {
        state: report.state as string,
        reason: report.reason,
        isStuck: report.isStuck,
        canRecover: report.canRecover,
      }
    : coarseState(facts, headTuple, inFlight, pendingNodes, o);
  if (graphFailed) state.reason += ` (the graph could not read this thread: ${graphFailed})`;
  // Where the last recovery took over: the step after the checkpoint it resumed from.
  const from = ledger?.lastRecoveryFrom;
  if (from) {
    const resumedStep = branch.find((t) => t.checkpoint.id === from);
    const label = `a recovery resumed the run here, from step ${resumedStep ? tupleInfo(resumedStep).step : "?"} (checkpoint ${from})`;
    const row = steps.find((s) => s.parentId === from);
    if (row) row.events.push(label);
    else if (inFlight && head?.checkpointId === from) inFlight.events.push(label);
  }
  if (inFlight && state.state !== "completed")
    inFlight.events.push(`${state.state}: ${state.reason}`);

  return {
    threadId,
    ...state,
    exact: report !== undefined,
    head: head ? { checkpointId: head.checkpointId, step: head.step, time: head.time } : null,
    steps,
    inFlight,
    toolCalls: [...calls.values()],
    ledger,
    receipts: receipts.map(({ result: _r, ...r }) => r),
    truncated: chain.truncated,
    offBranch: chain.offBranch,
    lastCheckpointAt: facts.lastCheckpointAt,
  };
}

// Tool calls at the head of a thread: which ones a resume re-runs (pending), which never started
// (scheduled), which nothing will answer (orphaned), and whether each is safe to run twice.
import type { StateSnapshot } from "@langchain/langgraph";

type PregelTaskDescription = StateSnapshot["tasks"][number];

import type { PregelLike } from "./graph.js";

/** A tool call the last model turn asked for and nothing has answered yet. */
export interface ToolCallInfo {
  id: string;
  name: string;
  args: unknown;
  /** Safe to run twice (marked idempotent, listed in `idempotentTools`, or receipt-backed). */
  idempotent: boolean;
  /** The pending task that would run it on resume (undefined for orphaned calls). */
  taskId?: string;
}

export interface ToolCallAnalysis {
  /** Unanswered calls a pending task will (re-)run when the thread resumes. */
  pending: ToolCallInfo[];
  /**
   * Calls made by a task that finished in the interrupted step (its writes are stored, the step's
   * checkpoint is not): nothing has started them; the resume applies those writes and runs them
   * in the next step, as an uncrashed run would.
   */
  scheduled: ToolCallInfo[];
  /** Unanswered calls nothing will run: the next model call would fail on them. */
  orphaned: ToolCallInfo[];
  /** Pending tool tasks and the calls each covers. */
  tasks: Array<{ task: PregelTaskDescription; calls: ToolCallInfo[] }>;
}

interface RawCall {
  id: string;
  name: string;
  args: unknown;
}

/** AIMessage-like: has a `tool_calls` array (works for class instances and plain objects). */
export function toolCallsOf(message: unknown): RawCall[] {
  const calls = (message as { tool_calls?: unknown } | null)?.tool_calls;
  if (!Array.isArray(calls)) return [];
  return calls
    .filter((c) => typeof c?.id === "string" && c.id !== "")
    .map((c) => ({ id: c.id as string, name: String(c.name), args: c.args }));
}

function toolCallIdOf(message: unknown): string | undefined {
  const id = (message as { tool_call_id?: unknown } | null)?.tool_call_id;
  return typeof id === "string" ? id : undefined;
}

/** tool_call_ids answered anywhere inside a finished task's result (messages, Command updates…). */
function collectAnswered(value: unknown, into: Set<string>, depth = 0): void {
  if (value === null || typeof value !== "object" || depth > 5) return;
  const id = toolCallIdOf(value);
  if (id) into.add(id);
  if (Array.isArray(value)) {
    for (const v of value) collectAnswered(v, into, depth + 1);
    return;
  }
  for (const v of Object.values(value as Record<string, unknown>))
    collectAnswered(v, into, depth + 1);
}

/** tool_call ids requested by AIMessages anywhere inside a finished task's result. */
function collectRequested(value: unknown, into: Set<string>, depth = 0): void {
  if (value === null || typeof value !== "object" || depth > 5) return;
  for (const c of toolCallsOf(value)) into.add(c.id);
  if (Array.isArray(value)) {
    for (const v of value) collectRequested(v, into, depth + 1);
    return;
  }
  for (const [k, v] of Object.entries(value as Record<string, unknown>))
    if (k !== "tool_calls") collectRequested(v, into, depth + 1);
}

export function messagesOf(snapshot: StateSnapshot): unknown[] {
  const values = snapshot.values as { messages?: unknown } | undefined;
  return Array.isArray(values?.messages) ? values.messages : [];
}

/** A node whose runnable is a ToolNode (langchain's or langgraph's prebuilt: both keep `.tools`). */
export function isToolNode(pregel: PregelLike, name: string): boolean {
  const bound = (pregel.nodes[name] as { bound?: { tools?: unknown } } | undefined)?.bound;
  return Array.isArray(bound?.tools);
}

/** The tool call a Send carries (createAgent sends `{ ...state, lg_tool_call }`). */
function callInSend(args: unknown, wanted: Map<string, RawCall>): RawCall | undefined {
  if (args === null || typeof args !== "object") return undefined;
  const candidates = [
    (args as { lg_tool_call?: unknown }).lg_tool_call,
    (args as { tool_call?: unknown }).tool_call,
    args,
  ];
  for (const c of candidates) {
    const id = (c as { id?: unknown } | null)?.id;
    if (typeof id === "string" && wanted.has(id)) return wanted.get(id);
  }
  return undefined;
}

/**
 * Which tool calls a resume would run (pending) and which nothing will ever answer (orphaned).
 * Calls answered by a finished sibling task of the interrupted superstep count as answered:
 * LangGraph keeps those writes and does not run the task again.
 */
export function analyzeToolCalls(
  pregel: PregelLike,
  snapshot: StateSnapshot,
  sends: readonly PendingSend[],
  isIdempotent: (toolName: string) => boolean,
): ToolCallAnalysis {
  const messages = messagesOf(snapshot);
  const answered = new Set<string>();
  for (const m of messages) {
    const id = toolCallIdOf(m);
    if (id) answered.add(id);
  }
  // getState applies the pending writes of finished tasks, so their AIMessages are in `messages`
  // already; the calls they request belong to the next step, which has not started.
  const requested = new Set<string>();
  for (const task of snapshot.tasks) {
    if (task.result === undefined) continue;
    collectAnswered(task.result, answered);
    collectRequested(task.result, requested);
  }
  const info = (c: RawCall, taskId?: string): ToolCallInfo => ({
    ...c,
    idempotent: isIdempotent(c.name),
    ...(taskId ? { taskId } : {}),
  });
  let lastAi = -1;
  for (let i = messages.length - 1; i >= 0 && lastAi < 0; i -= 1) {
    if (Array.isArray((messages[i] as { tool_calls?: unknown })?.tool_calls)) lastAi = i;
  }
  const orphaned: ToolCallInfo[] = [];
  const scheduled: ToolCallInfo[] = [];
  messages.forEach((m, i) => {
    if (i === lastAi) return;
    for (const c of toolCallsOf(m)) {
      if (answered.has(c.id)) continue;
      (requested.has(c.id) ? scheduled : orphaned).push(info(c));
    }
  });
  const open = new Map<string, RawCall>();
  for (const c of lastAi >= 0 ? toolCallsOf(messages[lastAi]) : []) {
    if (answered.has(c.id)) continue;
    if (requested.has(c.id)) scheduled.push(info(c));
    else open.set(c.id, c);
  }
  const tasks: ToolCallAnalysis["tasks"] = [];
  // A thread waiting on a human (e.g. tool-call approval) will answer its last calls on resume.
  const waiting = snapshot.tasks.some((t) => (t.interrupts?.length ?? 0) > 0);
  const runnable = snapshot.tasks.filter(
    (t) => t.result === undefined && !t.error && (t.interrupts?.length ?? 0) === 0,
  );
  if (open.size > 0 && runnable.length > 0) {
    const claimed = new Set<string>();
    for (const task of runnable) {
      if (task.path?.[0] !== "__pregel_push") continue;
      const call = callInSend(sends[Number(task.path[1])]?.args, open);
      if (call) {
        claimed.add(call.id);
        tasks.push({ task, calls: [info(call, task.id)] });
      }
    }
    for (const task of runnable) {
      if (task.path?.[0] === "__pregel_push" || !isToolNode(pregel, task.name)) continue;
      const calls = [...open.values()].filter((c) => !claimed.has(c.id));
      for (const c of calls) claimed.add(c.id);
      if (calls.length > 0) tasks.push({ task, calls: calls.map((c) => info(c, task.id)) });
    }
    if (!waiting) for (const c of open.values()) if (!claimed.has(c.id)) orphaned.push(info(c));
  } else if (!waiting) {
    for (const c of open.values()) orphaned.push(info(c));
  }
  return { pending: tasks.flatMap((t) => t.calls), scheduled, orphaned, tasks };
}

/** A Send stored in the head checkpoint; task path [PUSH, i] indexes into the list. */
export interface PendingSend {
  node?: string;
  args?: unknown;
}

/** The Sends of a checkpoint (LangGraph keeps them in the `__pregel_tasks` channel). */
export function sendsOf(
  checkpoint: { channel_values?: Record<string, unknown> } | undefined,
): PendingSend[] {
  const sends = checkpoint?.channel_values?.__pregel_tasks;
  return Array.isArray(sends) ? (sends as PendingSend[]) : [];
}

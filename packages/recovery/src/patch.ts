// Answering tool calls without running them: pending tool tasks of a resume get "outcome
// unknown" results as their own writes (the "error" policy), and orphaned calls of a thread get
// error ToolMessages in a new checkpoint, so the next model call is valid.
import { RemoveMessage, ToolMessage } from "@langchain/core/messages";
import type { RunnableConfig } from "@langchain/core/runnables";
import { REMOVE_ALL_MESSAGES, type StateSnapshot } from "@langchain/langgraph";
import type { Checkpoint, PendingWrite } from "@langchain/langgraph-checkpoint";
import type { GraphHandle } from "./graph.js";
import { CheckpointerView, withCheckpointer } from "./saver-view.js";
import { messagesOf, type ToolCallAnalysis, type ToolCallInfo, toolCallsOf } from "./toolcalls.js";

/** The error ToolMessage that answers a call whose outcome is unknown. */
export function outcomeUnknownMessage(call: ToolCallInfo, why: string): ToolMessage {
  return new ToolMessage({
    tool_call_id: call.id,
    name: call.name,
    status: "error",
    content: `Tool call ${call.name} (${call.id}) did not return a result: ${why}. Its outcome is unknown; check before calling it again.`,
  });
}

/** LangGraph's task_path text form (sorts pending writes in execution order). */
function taskPathText(path: readonly unknown[] | undefined): string {
  const part = (p: unknown): string => {
    if (Array.isArray(p)) return `~${p.map(part).join(", ")}`;
    if (typeof p === "boolean") return p ? "0000000001" : "0000000000";
    if (typeof p === "number")
      return p < 0 ? `-${String(-p).padStart(9, "0")}` : String(p).padStart(10, "0");
    return p === undefined || p === null ? "~" : String(p);
  };
  return part(path ?? []);
}

/**
 * Answers pending tool tasks without running them: each task gets, as its own pending writes on
 * the head checkpoint, what its node would have written had every call returned `messageFor`.
 * On resume LangGraph treats those tasks as finished and runs only the rest. The writes are
 * computed by LangGraph itself (bulkUpdateState on a capturing saver), so edges and routing
 * writes are exactly the node's; only the capture's own checkpoint is dropped.
 */
export async function answerPendingTasks(
  handle: GraphHandle,
  snapshot: StateSnapshot,
  tasks: ToolCallAnalysis["tasks"],
  messageFor: (call: ToolCallInfo) => ToolMessage,
): Promise<number> {
  let answered = 0;
  for (const { task, calls } of tasks) {
    const writes = await captureNodeWrites(handle, snapshot.config, task.name, task.id, {
      messages: calls.map(messageFor),
    });
    await handle.saver.putWrites(snapshot.config, writes, task.id, taskPathText(task.path));
    answered += calls.length;
  }
  return answered;
}

async function captureNodeWrites(
  handle: GraphHandle,
  config: RunnableConfig,
  node: string,
  taskId: string,
  values: unknown,
): Promise<PendingWrite[]> {
  const capture = new WriteCapture(handle.saver, taskId);
  await withCheckpointer(handle.pregel, capture).bulkUpdateState(config, [
    { updates: [{ values, asNode: node, taskId }] },
  ]);
  return capture.captured;
}

/**
 * Reads through to the saver but stores nothing: keeps the writes of task `taskId` and drops the
 * checkpoint bulkUpdateState would write (answering a task must not add a step).
 */
class WriteCapture extends CheckpointerView {
  readonly captured: PendingWrite[] = [];

  constructor(
    saver: GraphHandle["saver"],
    private readonly taskId: string,
  ) {
    super(saver);
  }

  override async putWrites(_config: RunnableConfig, writes: PendingWrite[], taskId: string) {
    if (taskId === this.taskId) this.captured.push(...writes);
  }

  override async put(config: RunnableConfig, checkpoint: Checkpoint) {
    return { configurable: { ...config.configurable, checkpoint_id: checkpoint.id } };
  }
}

/**
 * Answers orphaned tool calls (no ToolMessage, and nothing pending will produce one) with error
 * ToolMessages placed right after their AIMessage, so the next model call is valid. Writes one
 * new checkpoint through `updateState`, attributed to `asNode` (LangGraph infers the node that
 * wrote last when omitted). Returns how many calls were patched.
 */
export async function patchOrphans(
  handle: GraphHandle,
  snapshot: StateSnapshot,
  orphaned: ToolCallInfo[],
  asNode?: string,
): Promise<number> {
  if (orphaned.length === 0) return 0;
  const byId = new Map(orphaned.map((c) => [c.id, c]));
  const messages = messagesOf(snapshot);
  const lastIndex = messages.length - 1;
  const onlyLast =
    toolCallsOf(messages[lastIndex]).some((c) => byId.has(c.id)) &&
    messages.slice(0, lastIndex).every((m) => !toolCallsOf(m).some((c) => byId.has(c.id)));
  const why = "the run that made it ended before the tool answered";
  let update: unknown[];
  if (onlyLast) {
    update = orphaned.map((c) => outcomeUnknownMessage(c, why));
  } else {
    // Insert after each AIMessage's block of answers: providers want results before the next turn.
    const rebuilt: unknown[] = [];
    let owed: ToolMessage[] = [];
    for (const m of messages) {
      const isAnswer = typeof (m as { tool_call_id?: unknown })?.tool_call_id === "string";
      if (!isAnswer && owed.length > 0) {
        rebuilt.push(...owed);
        owed = [];
      }
      rebuilt.push(m);
      for (const c of toolCallsOf(m)) {
        const o = byId.get(c.id);
        if (o) owed.push(outcomeUnknownMessage(o, why));
      }
    }
    rebuilt.push(...owed);
    update = [new RemoveMessage({ id: REMOVE_ALL_MESSAGES }), ...rebuilt];
  }
  await handle.pregel.updateState(snapshot.config, { messages: update }, asNode);
  return orphaned.length;
}

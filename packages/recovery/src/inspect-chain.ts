// Reads a thread's root checkpoint chain through the checkpointer (list(): metadata, versions,
// pending writes) and turns each superstep into what ran, what it wrote, and what is in flight.
import type { PostgresCheckpointer } from "@agentstate/checkpointer";
import type { CheckpointTuple } from "@langchain/langgraph-checkpoint";
import {
  asMessages,
  describeError,
  type MessageView,
  preview,
  safeJson,
} from "./inspect-format.js";

/** One root checkpoint and its parent, as read from list(). */
export interface ChainRead {
  /** Along the head's branch, oldest first; the first may be the parent of the shown window. */
  branch: CheckpointTuple[];
  /** Older checkpoints exist beyond `limit`. */
  truncated: boolean;
  /** Checkpoints of the read window that are not ancestors of the head (forks). */
  offBranch: number;
}

/** What a task wrote to one channel, summarised. */
export interface WriteView {
  node: string | null;
  task: string;
  channel: string;
  preview: string;
}

export interface InterruptView {
  node: string | null;
  value: string;
  /** The value it was resumed with, once resumed. */
  resumedWith: string | null;
}

export interface ErrorView {
  node: string | null;
  error: string;
}

/** What the tasks that ran on one checkpoint stored (pending writes), by kind. */
export interface TaskWrites {
  writes: WriteView[];
  interrupts: InterruptView[];
  errors: ErrorView[];
  /** Messages the tasks wrote, in order (for tool calls and results). */
  messages: MessageView[];
  taskIds: string[];
}

const idOf = (t: CheckpointTuple) => t.checkpoint.id;
const parentOf = (t: CheckpointTuple) =>
  (t.parentConfig?.configurable?.checkpoint_id as string | undefined) ?? null;

/** The last `limit` checkpoints of the head's branch (plus the parent of the oldest, if any). */
export async function readChain(
  saver: PostgresCheckpointer,
  threadId: string,
  limit: number,
): Promise<ChainRead> {
  const fetched: CheckpointTuple[] = [];
  const config = { configurable: { thread_id: threadId, checkpoint_ns: "" } };
  for await (const t of saver.list(config, { limit: limit + 1 })) fetched.push(t);
  const byId = new Map(fetched.map((t) => [idOf(t), t]));
  const branch: CheckpointTuple[] = [];
  for (let t = fetched[0]; t; t = byId.get(parentOf(t) ?? "")) branch.push(t);
  branch.reverse();
  const oldest = branch[0];
  const truncated = branch.length > limit || (oldest !== undefined && parentOf(oldest) !== null);
  return { branch, truncated, offBranch: fetched.length - branch.length };
}

export function tupleInfo(t: CheckpointTuple) {
  const meta = (t.metadata ?? {}) as { step?: number; source?: string; writes?: unknown };
  return {
    checkpointId: idOf(t),
    parentId: parentOf(t),
    step: typeof meta.step === "number" ? meta.step : Number(meta.step ?? 0),
    source: String(meta.source ?? "unknown"),
    time: typeof t.checkpoint.ts === "string" ? t.checkpoint.ts : null,
  };
}

const isInternal = (name: string) => name.startsWith("__") && name !== "__start__";
const values = (t: CheckpointTuple) =>
  (t.checkpoint.channel_values ?? {}) as Record<string, unknown>;

/** Nodes that Send packets stored in this checkpoint will run next (createAgent's tool calls). */
export function sendsOf(t: CheckpointTuple | undefined): string[] {
  const tasks = t ? values(t).__pregel_tasks : undefined;
  if (!Array.isArray(tasks)) return [];
  return tasks.map((s) => String((s as { node?: unknown })?.node ?? "?"));
}

function compare(a: unknown, b: unknown): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b), "en", { numeric: true });
}

/**
 * The nodes a checkpoint triggers, read without the graph: a `branch:to:<node>` channel (how
 * LangGraph 1.x wires edges) holding a value with a version the node has not seen, the input's
 * `__start__`, and stored Send packets.
 */
export function triggeredBy(t: CheckpointTuple): string[] {
  const cv = t.checkpoint.channel_versions ?? {};
  const seen = t.checkpoint.versions_seen ?? {};
  const vals = values(t);
  const out: string[] = [];
  for (const [channel, version] of Object.entries(cv)) {
    const node = channel.startsWith("branch:to:")
      ? channel.slice("branch:to:".length)
      : channel === "__start__"
        ? "__start__"
        : undefined;
    if (!node || !Object.hasOwn(vals, channel)) continue;
    const saw = seen[node]?.[channel];
    if (saw === undefined || compare(version, saw) > 0) out.push(node);
  }
  return [...out, ...sendsOf(t)];
}

/** Nodes that ran between `parent` and `child`: versions_seen moved, or a Send ran them. */
export function ranBetween(parent: CheckpointTuple | undefined, child: CheckpointTuple): string[] {
  const before = parent?.checkpoint.versions_seen ?? {};
  const after = child.checkpoint.versions_seen ?? {};
  const pulled = Object.keys(after).filter(
    (n) => !isInternal(n) && n !== "__input__" && safeJson(after[n]) !== safeJson(before[n] ?? {}),
  );
  const legacy = (child.metadata as { writes?: unknown } | undefined)?.writes;
  const named = legacy && typeof legacy === "object" ? Object.keys(legacy) : [];
  const nodes = [...pulled, ...sendsOf(parent)];
  for (const n of named) if (!nodes.includes(n)) nodes.push(n);
  return nodes;
}

const SKIPPED = new Set(["__pregel_tasks", "__scheduled__", "__resume__"]);
const NULL_TASK = /^0+(-0+)*$/;

/**
 * The pending writes stored on `t` (the tasks that ran on it), by kind. `names` maps task ids to
 * node names when the graph told us; otherwise a task is named only when one node ran.
 */
export function taskWrites(
  t: CheckpointTuple,
  nodes: string[],
  names: Map<string, string> | undefined,
): TaskWrites {
  const unique = [...new Set(nodes)];
  const nameOf = (task: string) => names?.get(task) ?? (unique.length === 1 ? unique[0]! : null);
  const out: TaskWrites = { writes: [], interrupts: [], errors: [], messages: [], taskIds: [] };
  const resumes = new Map<string, unknown>();
  const asked: Array<{ task: string; view: InterruptView }> = [];
  for (const [task, channel, value] of t.pendingWrites ?? []) {
    if (!out.taskIds.includes(task) && !NULL_TASK.test(task)) out.taskIds.push(task);
    if (channel === "__resume__") {
      resumes.set(task, Array.isArray(value) ? value[value.length - 1] : value);
    } else if (channel === "__error__") {
      out.errors.push({ node: nameOf(task), error: describeError(value) });
    } else if (channel === "__interrupt__") {
      for (const i of Array.isArray(value) ? value : [value]) {
        const v = (i as { value?: unknown })?.value ?? i;
        const view: InterruptView = {
          node: nameOf(task),
          value: preview(v, 120),
          resumedWith: null,
        };
        asked.push({ task, view });
        out.interrupts.push(view);
      }
    } else if (!SKIPPED.has(channel) && !channel.startsWith("branch:to:")) {
      out.writes.push({ node: nameOf(task), task, channel, preview: preview(value) });
      const messages = asMessages(value);
      if (messages) out.messages.push(...messages);
    }
  }
  // A resume value is written for the interrupted task, or once for the whole step (null task id).
  const global = [...resumes].find(([k]) => NULL_TASK.test(k))?.[1];
  for (const { task, view } of asked) {
    const resumed = resumes.has(task) ? resumes.get(task) : global;
    if (resumed !== undefined) view.resumedWith = preview(resumed, 60);
  }
  return out;
}

/** Channels whose version changed from `parent` to `child`, with a preview of the new value. */
export function changedChannels(
  parent: CheckpointTuple | undefined,
  child: CheckpointTuple,
): WriteView[] {
  const before = parent?.checkpoint.channel_versions ?? {};
  const after = child.checkpoint.channel_versions ?? {};
  const out: WriteView[] = [];
  for (const [channel, version] of Object.entries(after)) {
    if (channel.startsWith("__") || channel.startsWith("branch:to:")) continue;
    if (before[channel] !== undefined && compare(version, before[channel]) === 0) continue;
    const added = addedMessages(parent, child, channel);
    const value = values(child)[channel];
    out.push({
      node: null,
      task: "",
      channel,
      preview: added ? `+${added.length}: ${preview(added.length ? added : [])}` : preview(value),
    });
  }
  return out;
}

/** Messages of `channel` in `child` that `parent` did not have (by id, else by position). */
export function addedMessages(
  parent: CheckpointTuple | undefined,
  child: CheckpointTuple,
  channel = "messages",
): MessageView[] | undefined {
  const now = asMessages(values(child)[channel]);
  if (!now) return undefined;
  const then = (parent ? asMessages(values(parent)[channel]) : undefined) ?? [];
  const ids = new Set(then.map((m) => m.id).filter(Boolean));
  return now.filter((m, i) => (m.id ? !ids.has(m.id) : i >= then.length));
}

/** The input a run started with (the `input` checkpoint's `__start__` value), per channel. */
export function inputWrites(t: CheckpointTuple): WriteView[] {
  const start = values(t).__start__;
  if (!start || typeof start !== "object") return [];
  return Object.entries(start as Record<string, unknown>).map(([channel, value]) => ({
    node: "(input)",
    task: "",
    channel,
    preview: preview(value),
  }));
}

/** Nodes as a list: `tools ×2, model_request`. */
export function formatNodes(nodes: string[]): string {
  const counts = new Map<string, number>();
  for (const n of nodes) counts.set(n, (counts.get(n) ?? 0) + 1);
  return [...counts].map(([n, c]) => (c > 1 ? `${n} ×${c}` : n)).join(", ");
}

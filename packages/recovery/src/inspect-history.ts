// history() lists a thread's checkpoints (id, step, source, time, parent, nodes); diffCheckpoints()
// says what changed in the state between two of them, channel by channel. Read-only.
import type { PostgresCheckpointer } from "@agentstate/checkpointer";
import type { CheckpointTuple } from "@langchain/langgraph-checkpoint";
import { RecoveryError } from "./errors.js";
import { type InspectSource, resolveSource } from "./inspect.js";
import { ranBetween, tupleInfo } from "./inspect-chain.js";
import {
  asMessages,
  describeMessage,
  type MessageView,
  preview,
  safeJson,
} from "./inspect-format.js";
import { readRun } from "./ledger/records.js";

export interface HistoryEntry {
  checkpointId: string;
  step: number;
  source: string;
  time: string | null;
  parentId: string | null;
  /** Nodes whose writes this checkpoint holds; null when its parent is outside the window. */
  nodes: string[] | null;
  /** An ancestor of the head (false for checkpoints of an abandoned fork). */
  onBranch: boolean;
}

export interface ThreadHistory {
  threadId: string;
  /** Newest first. */
  checkpoints: HistoryEntry[];
  truncated: boolean;
}

async function notFound(saver: PostgresCheckpointer, threadId: string): Promise<never> {
  throw new RecoveryError(
    "THREAD_NOT_FOUND",
    (await readRun(saver, threadId))
      ? `Thread "${threadId}" has a ledger row but no checkpoints (its run died before the first one).`
      : `Thread "${threadId}" has no checkpoints.`,
  );
}

/** The root checkpoints of a thread, newest first (`limit`, default 50). */
export async function history(
  threadId: string,
  from: InspectSource,
  options: { limit?: number } = {},
): Promise<ThreadHistory> {
  const { saver } = resolveSource(from);
  const limit = options.limit ?? 50;
  const tuples: CheckpointTuple[] = [];
  const config = { configurable: { thread_id: threadId, checkpoint_ns: "" } };
  for await (const t of saver.list(config, { limit: limit + 1 })) tuples.push(t);
  if (tuples.length === 0) return notFound(saver, threadId);
  const byId = new Map(tuples.map((t) => [t.checkpoint.id, t]));
  const onBranch = new Set<string>();
  for (let t = tuples[0]; t; t = byId.get(tupleInfo(t).parentId ?? ""))
    onBranch.add(t.checkpoint.id);
  const checkpoints = tuples.slice(0, limit).map((t) => {
    const info = tupleInfo(t);
    const parent = info.parentId ? byId.get(info.parentId) : undefined;
    const nodes = !info.parentId ? ["(input)"] : parent ? ranBetween(parent, t) : null;
    return { ...info, nodes, onBranch: onBranch.has(info.checkpointId) };
  });
  return { threadId, checkpoints, truncated: tuples.length > limit };
}

/** A checkpoint by id, or by step number (the newest checkpoint of that step). */
async function resolveRef(
  saver: PostgresCheckpointer,
  threadId: string,
  ref: string,
): Promise<CheckpointTuple> {
  const config = { configurable: { thread_id: threadId, checkpoint_ns: "" } };
  let tuple: CheckpointTuple | undefined;
  if (/^-?\d+$/.test(ref)) {
    for await (const t of saver.list(config, { limit: 1, filter: { step: Number(ref) } }))
      tuple = t;
  } else {
    tuple = await saver.getTuple({ configurable: { ...config.configurable, checkpoint_id: ref } });
  }
  if (tuple) return tuple;
  const any = await saver.getTuple(config);
  if (!any) return notFound(saver, threadId);
  throw new RecoveryError(
    "CHECKPOINT_NOT_FOUND",
    `Thread "${threadId}" has no checkpoint ${/^-?\d+$/.test(ref) ? `at step ${ref}` : `"${ref}"`}: see \`agentstate history ${threadId}\`.`,
  );
}

export interface ChannelDiff {
  channel: string;
  change: "added" | "removed" | "changed";
  before: string | null;
  after: string | null;
  /** For message lists: messages added, removed and edited (same id, new content), one line each. */
  messages?: { added: string[]; removed: string[]; changed: string[] };
}

export interface CheckpointDiff {
  threadId: string;
  from: { checkpointId: string; step: number; time: string | null };
  to: { checkpointId: string; step: number; time: string | null };
  channels: ChannelDiff[];
}

const hidden = (channel: string) => channel.startsWith("__") || channel.startsWith("branch:to:");

function diffMessages(a: MessageView[], b: MessageView[]): NonNullable<ChannelDiff["messages"]> {
  const key = (m: MessageView, i: number) => m.id ?? `#${i}`;
  const before = new Map(a.map((m, i) => [key(m, i), m]));
  const after = new Map(b.map((m, i) => [key(m, i), m]));
  const line = (m: MessageView) => describeMessage(m, 100);
  return {
    added: b.filter((m, i) => !before.has(key(m, i))).map(line),
    removed: a.filter((m, i) => !after.has(key(m, i))).map(line),
    changed: b
      .filter((m, i) => {
        const old = before.get(key(m, i));
        return old !== undefined && safeJson(old) !== safeJson(m);
      })
      .map(line),
  };
}

/** What changed in the state from checkpoint `a` to checkpoint `b` (ids or step numbers). */
export async function diffCheckpoints(
  threadId: string,
  a: string,
  b: string,
  from: InspectSource,
): Promise<CheckpointDiff> {
  const { saver } = resolveSource(from);
  const [ta, tb] = await Promise.all([
    resolveRef(saver, threadId, a),
    resolveRef(saver, threadId, b),
  ]);
  const va = (ta.checkpoint.channel_values ?? {}) as Record<string, unknown>;
  const vb = (tb.checkpoint.channel_values ?? {}) as Record<string, unknown>;
  const channels: ChannelDiff[] = [];
  const names = [...new Set([...Object.keys(va), ...Object.keys(vb)])].filter((c) => !hidden(c));
  for (const channel of names.sort()) {
    const inA = Object.hasOwn(va, channel);
    const inB = Object.hasOwn(vb, channel);
    const before = inA ? preview(va[channel]) : null;
    const after = inB ? preview(vb[channel]) : null;
    if (inA && inB && safeJson(va[channel]) === safeJson(vb[channel])) continue;
    const entry: ChannelDiff = {
      channel,
      change: !inA ? "added" : !inB ? "removed" : "changed",
      before,
      after,
    };
    const ma = inA ? asMessages(va[channel]) : [];
    const mb = inB ? asMessages(vb[channel]) : [];
    if (ma && mb && (ma.length > 0 || mb.length > 0)) entry.messages = diffMessages(ma, mb);
    channels.push(entry);
  }
  const end = (t: CheckpointTuple) => {
    const { checkpointId, step, time } = tupleInfo(t);
    return { checkpointId, step, time };
  };
  return { threadId, from: end(ta), to: end(tb), channels };
}

import type { BaseMessage } from "@langchain/core/messages";
import type { RunnableConfig } from "@langchain/core/runnables";
import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import type pg from "pg";
import { type MessagesMode, runTurn, toolLoopGraph } from "./graph.js";
import { timeMs } from "./stats.js";

export interface BuiltThread {
  threadId: string;
  steps: number;
  mode: MessagesMode;
  /** The final message list as the graph returned it. */
  messages: BaseMessage[];
  buildMs: number;
}

/**
 * A thread of `steps` real supersteps: one invoke of the tool-loop graph (a human message, then
 * model/tools alternating), each step adding one message, every checkpoint written by the saver.
 */
export async function buildThread(
  saver: BaseCheckpointSaver,
  threadId: string,
  steps: number,
  mode: MessagesMode,
): Promise<BuiltThread> {
  if (steps % 2 !== 0) throw new Error("steps must be even (model + tools per round)");
  const graph = toolLoopGraph({ rounds: steps / 2, mode, checkpointer: saver });
  let messages: BaseMessage[] = [];
  const buildMs = await timeMs(async () => {
    messages = (await runTurn(graph, threadId, steps / 2)).messages;
  });
  return { threadId, steps, mode, messages, buildMs };
}

/** The message list a fresh graph reads back from the saver (DeltaChannel replays history). */
export async function readBackMessages(
  saver: BaseCheckpointSaver,
  thread: BuiltThread,
): Promise<BaseMessage[]> {
  const graph = toolLoopGraph({ rounds: thread.steps / 2, mode: thread.mode, checkpointer: saver });
  const state = await graph.getState({ configurable: { thread_id: thread.threadId } });
  return (state.values as { messages: BaseMessage[] }).messages;
}

export const latest = (threadId: string): RunnableConfig => ({
  configurable: { thread_id: threadId, checkpoint_ns: "" },
});

/** The config of the checkpoint written at `step` (metadata.step) of a thread. */
export async function checkpointAtStep(
  saver: BaseCheckpointSaver,
  threadId: string,
  step: number,
): Promise<RunnableConfig> {
  for await (const t of saver.list(latest(threadId), { filter: { step } })) return t.config;
  throw new Error(`no checkpoint at step ${step} on ${threadId}`);
}

export async function listCount(
  saver: BaseCheckpointSaver,
  threadId: string,
  limit: number,
): Promise<number> {
  let n = 0;
  for await (const _ of saver.list(latest(threadId), { limit })) n += 1;
  return n;
}

export interface StorageBytes {
  /** octet_length of blob bytes + checkpoint/metadata JSON text: what was serialized and sent. */
  payload: { checkpoints: number; blobs: number; writes: number; total: number };
  /** pg_column_size of whole rows: what the heap and TOAST hold (after pglz compression). */
  stored: number;
  rows: { checkpoints: number; blobs: number; writes: number };
}

/** Bytes of one thread's rows in the official tables of `schema`. */
export async function storageBytes(
  pool: pg.Pool,
  schema: string,
  threadId: string,
): Promise<StorageBytes> {
  const s = `"${schema.replace(/"/g, '""')}"`;
  const { rows } = await pool.query(
    `SELECT
      (SELECT coalesce(sum(octet_length(checkpoint::text) + octet_length(metadata::text)), 0)
         FROM ${s}.checkpoints WHERE thread_id = $1)::float8 AS cp,
      (SELECT coalesce(sum(coalesce(octet_length(blob), 0)), 0)
         FROM ${s}.checkpoint_blobs WHERE thread_id = $1)::float8 AS bl,
      (SELECT coalesce(sum(octet_length(blob)), 0)
         FROM ${s}.checkpoint_writes WHERE thread_id = $1)::float8 AS wr,
      ((SELECT coalesce(sum(pg_column_size(c.*)), 0) FROM ${s}.checkpoints c WHERE thread_id = $1)
       + (SELECT coalesce(sum(pg_column_size(b.*)), 0) FROM ${s}.checkpoint_blobs b WHERE thread_id = $1)
       + (SELECT coalesce(sum(pg_column_size(w.*)), 0) FROM ${s}.checkpoint_writes w WHERE thread_id = $1)
      )::float8 AS stored,
      (SELECT count(*) FROM ${s}.checkpoints WHERE thread_id = $1)::int AS n_cp,
      (SELECT count(*) FROM ${s}.checkpoint_blobs WHERE thread_id = $1)::int AS n_bl,
      (SELECT count(*) FROM ${s}.checkpoint_writes WHERE thread_id = $1)::int AS n_wr`,
    [threadId],
  );
  const r = rows[0];
  return {
    payload: { checkpoints: r.cp, blobs: r.bl, writes: r.wr, total: r.cp + r.bl + r.wr },
    stored: r.stored,
    rows: { checkpoints: r.n_cp, blobs: r.n_bl, writes: r.n_wr },
  };
}

/** Logical size of a conversation: the JSON length of its message list. */
export const logicalBytes = (messages: readonly BaseMessage[]) =>
  Buffer.byteLength(JSON.stringify(messages));

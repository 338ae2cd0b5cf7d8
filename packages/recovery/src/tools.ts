import type { PostgresCheckpointer, Queryable } from "@agentstate/checkpointer";
import { RecoveryError } from "./errors.js";
import type { PregelLike } from "./graph.js";

/** Metadata flag set by markIdempotent(); also readable by other tooling. */
export const IDEMPOTENT_METADATA_KEY = "agentstate_idempotent";

/**
 * Declares that running this tool twice for the same call is harmless, so a call that was in
 * flight at a crash is simply run again on recovery. Returns the same tool.
 */
export function markIdempotent<T extends { name: string; metadata?: Record<string, unknown> }>(
  tool: T,
): T {
  tool.metadata = { ...tool.metadata, [IDEMPOTENT_METADATA_KEY]: true };
  return tool;
}

/**
 * Is `toolName` safe to re-run: listed in options, or flagged by markIdempotent() on a tool of
 * this graph (found on its ToolNodes, so two agents can have different tools of the same name).
 */
export function idempotencyChecker(
  pregel: PregelLike,
  extraNames: readonly string[],
): (toolName: string) => boolean {
  const names = new Set(extraNames);
  for (const node of Object.values(pregel.nodes)) {
    const tools = (node as { bound?: { tools?: unknown } })?.bound?.tools;
    if (!Array.isArray(tools)) continue;
    for (const t of tools as Array<{ name?: string; metadata?: Record<string, unknown> }>) {
      if (t?.name && t.metadata?.[IDEMPOTENT_METADATA_KEY] === true) names.add(t.name);
    }
  }
  return (toolName) => names.has(toolName);
}

/** Identifies one side effect: a tool call of a thread. */
export interface ReceiptKey {
  threadId: string;
  toolCallId: string;
}

export interface RunOnceOptions {
  /**
   * A previous attempt started the effect and died before recording that it finished, so it may
   * or may not have happened. "throw" raises OUTCOME_UNKNOWN; "rerun" runs it again (right when
   * the external system deduplicates on `idempotencyKey`).
   * @default "throw"
   */
  onUnknown?: "throw" | "rerun";
}

/** What an effect receives: a stable key to pass to external APIs that deduplicate requests. */
export interface EffectContext {
  idempotencyKey: string;
  /** True when an earlier attempt started this effect and its outcome is unknown. */
  retryOfUnknown: boolean;
}

const keyOf = (k: ReceiptKey) => `${k.threadId}:${k.toolCallId}`;

/**
 * Runs `effect` at most once per (thread, tool call) across crashes and workers: the result is
 * stored in Postgres and replayed to any later attempt. A crash *during* the effect leaves a
 * "started" receipt: the outcome is unknown (see `onUnknown`). An effect that throws removes its
 * receipt, so a thrown error must mean the effect did not happen. Results must be JSON.
 */
export async function runOnce<T>(
  saver: PostgresCheckpointer,
  key: ReceiptKey,
  effect: (ctx: EffectContext) => Promise<T>,
  options: RunOnceOptions = {},
): Promise<T> {
  const t = saver.tables.receipts;
  const inserted = await saver.run(
    "runOnce()",
    `INSERT INTO ${t} (thread_id, tool_call_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1`,
    [key.threadId, key.toolCallId],
  );
  let retryOfUnknown = false;
  if (inserted.length === 0) {
    const [row] = await saver.run<{ status: string; result: { value: T } | null }>(
      "runOnce()",
      `SELECT status, result FROM ${t} WHERE thread_id = $1 AND tool_call_id = $2`,
      [key.threadId, key.toolCallId],
    );
    if (row?.status === "done") return row.result?.value as T;
    if ((options.onUnknown ?? "throw") === "throw") {
      throw new RecoveryError(
        "OUTCOME_UNKNOWN",
        `The side effect of tool call ${key.toolCallId} (thread ${key.threadId}) started before a crash and never recorded its end: it may or may not have happened. Check the external system, then delete the receipt or use onUnknown: "rerun" with an idempotency key.`,
      );
    }
    retryOfUnknown = true;
  }
  let value: T;
  try {
    value = await effect({ idempotencyKey: keyOf(key), retryOfUnknown });
  } catch (error) {
    await saver
      .run(
        "runOnce()",
        `DELETE FROM ${t} WHERE thread_id = $1 AND tool_call_id = $2 AND status = 'started'`,
        [key.threadId, key.toolCallId],
      )
      .catch(() => {});
    throw error;
  }
  await saver.run(
    "runOnce()",
    `UPDATE ${t} SET status = 'done', result = $3::jsonb, completed_at = now()
     WHERE thread_id = $1 AND tool_call_id = $2`,
    [key.threadId, key.toolCallId, JSON.stringify({ value: value ?? null })],
  );
  return value;
}

/**
 * Exactly once for effects in the same database: the receipt and the effect's own statements
 * commit in one transaction, so either both happened or neither did. A concurrent attempt waits
 * on the receipt row and then replays the stored result.
 */
export async function runOnceInTransaction<T>(
  saver: PostgresCheckpointer,
  key: ReceiptKey,
  effect: (tx: Queryable, ctx: EffectContext) => Promise<T>,
): Promise<T> {
  const t = saver.tables.receipts;
  return saver.db.transaction(async (tx) => {
    const inserted = await tx.query(
      `INSERT INTO ${t} (thread_id, tool_call_id, status, completed_at) VALUES ($1, $2, 'done', now())
       ON CONFLICT DO NOTHING RETURNING 1`,
      [key.threadId, key.toolCallId],
    );
    if (inserted.rows.length === 0) {
      const { rows } = await tx.query<{ result: { value: T } | null }>(
        `SELECT result FROM ${t} WHERE thread_id = $1 AND tool_call_id = $2`,
        [key.threadId, key.toolCallId],
      );
      return rows[0]?.result?.value as T;
    }
    const value = await effect(tx, { idempotencyKey: keyOf(key), retryOfUnknown: false });
    await tx.query(
      `UPDATE ${t} SET result = $3::jsonb WHERE thread_id = $1 AND tool_call_id = $2`,
      [key.threadId, key.toolCallId, JSON.stringify({ value: value ?? null })],
    );
    return value;
  });
}

/** The (thread, tool call) a tool function is running for, from the config LangChain passes it. */
export function receiptKeyFromConfig(config: unknown): ReceiptKey | undefined {
  const c = config as {
    configurable?: { thread_id?: unknown };
    toolCall?: { id?: unknown };
  } | null;
  const threadId = c?.configurable?.thread_id;
  const toolCallId = c?.toolCall?.id;
  if (typeof toolCallId !== "string" || threadId === undefined || threadId === null)
    return undefined;
  return { threadId: String(threadId), toolCallId };
}

/**
 * Wraps a tool function so its side effect runs once per tool call, even if the run crashes and
 * is resumed: `tool(withReceipt(saver, async (input, config) => …), { name, schema })`. Outside a
 * graph (no thread id or tool call id in the config) it just calls `fn`.
 */
export function withReceipt<I, O, C = unknown>(
  saver: PostgresCheckpointer,
  fn: (input: I, config: C, ctx?: EffectContext) => Promise<O>,
  options: RunOnceOptions = {},
): (input: I, config: C) => Promise<O> {
  return (input, config) => {
    const key = receiptKeyFromConfig(config);
    if (!key) return fn(input, config);
    return runOnce(saver, key, (ctx) => fn(input, config, ctx), options);
  };
}

// Tools and their side effects: which tools are safe to run twice (markIdempotent), and receipts
// that make an effect run once per tool call across crashes (runOnce, withReceipt) — exactly once
// when the effect is in the same database (runOnceInTransaction).
import type { DbSeam, Queryable } from "@agentstate/checkpointer";
import { RecoveryError } from "./errors.js";
import type { PregelLike } from "./graph.js";
import {
  completeReceipt,
  dropStartedReceipt,
  inTransaction,
  type ReceiptKey,
  readReceipt,
  startReceipt,
} from "./ledger/receipts.js";

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
  db: DbSeam,
  key: ReceiptKey,
  effect: (ctx: EffectContext) => Promise<T>,
  options: RunOnceOptions = {},
): Promise<T> {
  let retryOfUnknown = false;
  if (!(await startReceipt(db, key))) {
    const receipt = await readReceipt<T>(db, key);
    if (receipt?.status === "done") return receipt.result?.value as T;
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
    await dropStartedReceipt(db, key).catch(() => {});
    throw error;
  }
  await completeReceipt(db, key, value);
  return value;
}

/**
 * Exactly once for effects in the same database: the receipt and the effect's own statements
 * commit in one transaction, so either both happened or neither did. A concurrent attempt waits
 * on the receipt row and then replays the stored result.
 */
export async function runOnceInTransaction<T>(
  db: DbSeam,
  key: ReceiptKey,
  effect: (tx: Queryable, ctx: EffectContext) => Promise<T>,
): Promise<T> {
  return db.transaction("runOnceInTransaction()", async (tx) => {
    const receipts = inTransaction(tx, db.tables);
    if (!(await startReceipt(receipts, key, "done"))) {
      return (await readReceipt<T>(receipts, key))?.result?.value as T;
    }
    const value = await effect(tx, { idempotencyKey: keyOf(key), retryOfUnknown: false });
    await completeReceipt(receipts, key, value);
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
  db: DbSeam,
  fn: (input: I, config: C, ctx?: EffectContext) => Promise<O>,
  options: RunOnceOptions = {},
): (input: I, config: C) => Promise<O> {
  return (input, config) => {
    const key = receiptKeyFromConfig(config);
    if (!key) return fn(input, config);
    return runOnce(db, key, (ctx) => fn(input, config, ctx), options);
  };
}

// Effect receipts (agentstate_receipts): one row per (thread, tool call) saying a side effect
// started or is done, with its result. The statements of runOnce — one at a time through the
// seam, or inside the effect's own transaction (runOnceInTransaction) — and the read inspect shows.
import type { DbSeam, Queryable, Tables } from "@agentstate/checkpointer";

/** Identifies one side effect: a tool call of a thread. */
export interface ReceiptKey {
  threadId: string;
  toolCallId: string;
}

/** Where a receipt statement runs: the seam, or a transaction the caller holds (inTransaction). */
export type ReceiptDb = Pick<DbSeam, "run" | "tables">;

/** Runs receipt statements inside `tx` (the transaction is timed and its errors wrapped as a whole). */
export function inTransaction(tx: Queryable, tables: Tables): ReceiptDb {
  return {
    tables,
    run: async <R>(_what: string, sql: string, params?: readonly unknown[]) =>
      (await tx.query<R>(sql, params)).rows,
  };
}

/** What the stored result column holds: the effect's value, wrapped so `undefined` survives. */
type Stored<T> = { value: T } | null;

/** The operation runOnce's statements run as (what metrics and error messages name). */
const RUN_ONCE = "runOnce()";

const keyParams = (k: ReceiptKey) => [k.threadId, k.toolCallId];

/**
 * Records that the effect starts (`started`), or, inside the effect's transaction, that it is
 * `done` (it commits with the receipt or not at all). False when a receipt exists already — in a
 * transaction, after waiting for a concurrent attempt's transaction to end.
 */
export async function startReceipt(
  db: ReceiptDb,
  key: ReceiptKey,
  status: "started" | "done" = "started",
): Promise<boolean> {
  const rows = await db.run(
    RUN_ONCE,
    `INSERT INTO ${db.tables.receipts} (thread_id, tool_call_id, status, completed_at)
     VALUES ($1, $2, $3::text, CASE WHEN $3::text = 'done' THEN now() END)
     ON CONFLICT DO NOTHING RETURNING 1`,
    [...keyParams(key), status],
  );
  return rows.length > 0;
}

/** The receipt's status and stored result, if there is one. */
export async function readReceipt<T>(
  db: ReceiptDb,
  key: ReceiptKey,
): Promise<{ status: string; result: Stored<T> } | undefined> {
  const [row] = await db.run<{ status: string; result: Stored<T> }>(
    RUN_ONCE,
    `SELECT status, result FROM ${db.tables.receipts} WHERE thread_id = $1 AND tool_call_id = $2`,
    keyParams(key),
  );
  return row;
}

/** Removes a `started` receipt: the effect threw, so it did not happen. */
export async function dropStartedReceipt(db: ReceiptDb, key: ReceiptKey): Promise<void> {
  await db.run(
    RUN_ONCE,
    `DELETE FROM ${db.tables.receipts} WHERE thread_id = $1 AND tool_call_id = $2 AND status = 'started'`,
    keyParams(key),
  );
}

/** Marks the receipt done, with the effect's result. */
export async function completeReceipt(
  db: ReceiptDb,
  key: ReceiptKey,
  value: unknown,
): Promise<void> {
  await db.run(
    RUN_ONCE,
    `UPDATE ${db.tables.receipts} SET status = 'done', result = $3::jsonb, completed_at = now()
     WHERE thread_id = $1 AND tool_call_id = $2`,
    [...keyParams(key), JSON.stringify({ value: value ?? null })],
  );
}

/** A receipt of a tool call's side effect, as inspect shows it. */
export interface ReceiptRow {
  toolCallId: string;
  status: string;
  createdAt: Date;
  completedAt: Date | null;
  result: unknown;
}

/** The thread's receipts, oldest first. */
export async function readReceipts(db: DbSeam, threadId: string): Promise<ReceiptRow[]> {
  const rows = await db.run<Record<string, unknown>>(
    "readReceipts()",
    `SELECT tool_call_id, status, created_at, completed_at, result FROM ${db.tables.receipts}
     WHERE thread_id = $1 ORDER BY created_at, tool_call_id`,
    [threadId],
  );
  return rows.map((r) => ({
    toolCallId: String(r.tool_call_id),
    status: String(r.status),
    createdAt: new Date(r.created_at as string),
    completedAt: r.completed_at ? new Date(r.completed_at as string) : null,
    result: r.result ?? null,
  }));
}

// Converts stored threads between full and compact storage, both ways, so nobody is locked in.
import { ChainRows } from "../compact/chain.js";
import { type Previous, planRow } from "../compact/encoder.js";
import { APPEND_TYPE_PREFIX, APPEND_TYPE_SQL, isAppendType, rootOf } from "../compact/format.js";
import { type FetchedRow, type Head, resolveHeads } from "../compact/read.js";
import type { Queryable } from "../db.js";
import type { DbSeam } from "../seam.js";
import { valuesRows } from "../sql/statements.js";
import { lockThreadForArchive } from "./thread-rows.js";
import { listThreads } from "./threads.js";

export interface ConvertOptions {
  /** Count what would change, write nothing. @default false */
  dryRun?: boolean;
  /** compact: appends one chain may hold. @default the saver's compactMaxChain (1000) */
  maxChain?: number;
}

export interface ConvertResult {
  threadId: string;
  /** Blob rows rewritten (or that would be, in a dry run). */
  rows: number;
  /** Blob bytes of those rows before and after. */
  bytesBefore: number;
  bytesAfter: number;
}

/** Appends one chain may hold when the caller names no limit (the saver passes its own). */
const DEFAULT_MAX_CHAIN = 1000;

/** What convertThreads needs: the saver's per-thread conversions and a way to list threads. */
export interface ThreadConverter extends DbSeam {
  compactThread(threadId: string, options?: ConvertOptions): Promise<ConvertResult>;
  expandThread(threadId: string, options?: ConvertOptions): Promise<ConvertResult>;
}

/** Rows read or rewritten per statement. */
const PAGE = 64;

/**
 * Stores a thread's channel values as compact chains: in each channel, in version order, a value
 * that extends the one before becomes an append (same rules as `storage: "compact"` writes).
 * Rows other chains start from stay whole. One transaction, under the thread's archive lock.
 */
export async function compactThread(
  db: DbSeam,
  threadId: string,
  options: ConvertOptions = {},
): Promise<ConvertResult> {
  const maxChain = options.maxChain ?? DEFAULT_MAX_CHAIN;
  return convert(db, threadId, "compactThread()", async (tx, result) => {
    const t = db.tables;
    const { rows: channels } = await tx.query<{ checkpoint_ns: string; channel: string }>(
      `SELECT DISTINCT checkpoint_ns, channel FROM ${t.blobs} WHERE thread_id = $1`,
      [threadId],
    );
    const { rows: chains } = await tx.query<{
      checkpoint_ns: string;
      channel: string;
      type: string;
    }>(
      `SELECT DISTINCT checkpoint_ns, channel, type FROM ${t.blobs}
       WHERE thread_id = $1 AND type LIKE ${APPEND_TYPE_SQL}`,
      [threadId],
    );
    const roots = new Set(
      chains.map((c) => `${c.checkpoint_ns}\u0000${c.channel}\u0000${rootOf(c.type)}`),
    );
    for (const { checkpoint_ns: ns, channel } of channels) {
      let prev: Previous | undefined;
      let after: [number, string] = [-1, ""];
      for (;;) {
        // Integer versions in numeric order (length first), fixed-width string versions as text.
        const { rows } = await tx.query<{ version: string; type: string; blob: Uint8Array | null }>(
          `SELECT version, type, blob FROM ${t.blobs}
           WHERE thread_id = $1 AND checkpoint_ns = $2 AND channel = $3
             AND (length(version), version COLLATE "C") > ($4::int, $5::text COLLATE "C")
           ORDER BY length(version), version COLLATE "C" LIMIT ${PAGE}`,
          [threadId, ns, channel, after[0], after[1]],
        );
        const updates: unknown[][] = [];
        for (const r of rows) {
          const blob = r.blob === null ? null : plain(r.blob);
          if (blob === null || r.type === "empty") continue;
          if (isAppendType(r.type)) {
            prev = undefined; // already compact: the next full row starts a chain of its own
            continue;
          }
          const planned = roots.has(`${ns}\u0000${channel}\u0000${r.version}`)
            ? planRow(undefined, r.version, r.type, blob, maxChain)
            : planRow(prev, r.version, r.type, blob, maxChain);
          if (planned.type !== r.type) {
            updates.push([r.version, r.type, planned.type, planned.blob]);
            result.rows += 1;
            result.bytesBefore += blob.length;
            result.bytesAfter += planned.blob.length;
          }
          prev = planned.next;
        }
        if (!options.dryRun && updates.length > 0)
          await rewrite(tx, db, threadId, ns, channel, updates);
        const last = rows.at(-1);
        if (rows.length < PAGE || !last) break;
        after = [last.version.length, last.version];
      }
    }
  });
}

/**
 * Stores every compact value of a thread whole again (the format the official saver reads).
 * Rebuilt a page at a time, so memory holds the chains and one page of full values.
 */
export async function expandThread(
  db: DbSeam,
  threadId: string,
  options: Pick<ConvertOptions, "dryRun"> = {},
): Promise<ConvertResult> {
  return convert(db, threadId, "expandThread()", async (tx, result) => {
    const t = db.tables;
    const { rows } = await tx.query<FetchedRow>(
      `WITH c AS (SELECT thread_id, checkpoint_ns, channel, type, version, blob FROM ${t.blobs}
        WHERE thread_id = $1 AND type LIKE ${APPEND_TYPE_SQL})
       SELECT * FROM c UNION ALL
       SELECT b.thread_id, b.checkpoint_ns, b.channel, b.type, b.version, b.blob
       FROM (SELECT DISTINCT checkpoint_ns, channel, type FROM c) r JOIN ${t.blobs} b
         ON b.thread_id = $1 AND b.checkpoint_ns = r.checkpoint_ns AND b.channel = r.channel
        AND b.version = substr(r.type, ${APPEND_TYPE_PREFIX.length + 1})`,
      [threadId],
    );
    const chains = new ChainRows();
    for (const r of rows) chains.add(r, r.version, r.type, r.blob && plain(r.blob));
    const compact = rows.filter((r) => isAppendType(r.type) && r.blob);
    const fetch = async (sql: string, params: unknown[]) =>
      (await tx.query<FetchedRow>(sql, params)).rows;
    for (let i = 0; i < compact.length; i += PAGE) {
      const page = compact.slice(i, i + PAGE);
      const heads: Array<Head & { version: string; oldType: string; stored: number }> = page.map(
        (r) => ({
          thread_id: r.thread_id,
          checkpoint_ns: r.checkpoint_ns,
          channel: r.channel,
          type: r.type,
          blob: plain(r.blob as Uint8Array),
          version: r.version,
          oldType: r.type,
          stored: (r.blob as Uint8Array).length,
        }),
      );
      await resolveHeads(t, heads, chains, fetch);
      const byChannel = new Map<string, Array<(typeof heads)[number]>>();
      for (const h of heads) {
        result.rows += 1;
        result.bytesBefore += h.stored;
        result.bytesAfter += h.blob.length;
        const key = `${h.checkpoint_ns}\u0000${h.channel}`;
        byChannel.set(key, [...(byChannel.get(key) ?? []), h]);
      }
      if (options.dryRun) continue;
      for (const list of byChannel.values()) {
        const [first] = list as [(typeof list)[number]];
        const updates = list.map((h) => [h.version, h.oldType, h.type, h.blob]);
        await rewrite(tx, db, threadId, first.checkpoint_ns, first.channel, updates);
      }
    }
  });
}

async function convert(
  db: DbSeam,
  threadId: string,
  what: string,
  body: (tx: Queryable, result: ConvertResult) => Promise<void>,
): Promise<ConvertResult> {
  const result: ConvertResult = { threadId, rows: 0, bytesBefore: 0, bytesAfter: 0 };
  await db.transaction(what, async (tx) => {
    // Archive and restore of this thread wait, and so does another conversion of it.
    await lockThreadForArchive(tx, db.schema, threadId, true);
    await body(tx, result);
  });
  return result;
}

/** Rewrites rows `[version, expected type, new type, new blob]` of one channel. */
async function rewrite(
  tx: Queryable,
  db: DbSeam,
  threadId: string,
  ns: string,
  channel: string,
  updates: unknown[][],
): Promise<void> {
  const values = valuesRows(updates.length, ["text", "text", "text", "bytea"], 4);
  await tx.query(
    `UPDATE ${db.tables.blobs} b SET type = v.type, blob = v.blob
     FROM (VALUES ${values}) AS v(version, old_type, type, blob)
     WHERE b.thread_id = $1 AND b.checkpoint_ns = $2 AND b.channel = $3
       AND b.version = v.version AND b.type = v.old_type`,
    [threadId, ns, channel, ...updates.flat()],
  );
}

/** node-postgres hands bytea over as a Buffer; the chain code works on plain views. */
const plain = (b: Uint8Array): Uint8Array =>
  Buffer.isBuffer(b) ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : b;

export interface ConvertThreadsOptions extends ConvertOptions {
  /** These threads; default every thread, a page at a time. */
  threadIds?: string[];
  /** Called after each thread, for progress output. */
  onThread?: (result: ConvertResult) => void;
}

export interface ConvertTotals {
  threads: number;
  rows: number;
  bytesBefore: number;
  bytesAfter: number;
}

/** compactThread or expandThread over many threads (one transaction each). */
export async function convertThreads(
  saver: ThreadConverter,
  direction: "compact" | "expand",
  options: ConvertThreadsOptions = {},
): Promise<ConvertTotals> {
  const totals: ConvertTotals = { threads: 0, rows: 0, bytesBefore: 0, bytesAfter: 0 };
  const one = async (id: string) => {
    const r =
      direction === "compact"
        ? await saver.compactThread(id, options)
        : await saver.expandThread(id, options);
    totals.threads += 1;
    totals.rows += r.rows;
    totals.bytesBefore += r.bytesBefore;
    totals.bytesAfter += r.bytesAfter;
    options.onThread?.(r);
  };
  if (options.threadIds) {
    for (const id of options.threadIds) await one(id);
    return totals;
  }
  let after: string | undefined;
  do {
    const page = await listThreads(saver, { limit: 100, after });
    for (const t of page.threads) await one(t.threadId);
    after = page.nextCursor;
  } while (after);
  return totals;
}

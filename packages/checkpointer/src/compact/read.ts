// Turns the compact rows a read returned into full values, fetching bases the read did not have.
import type { ReadRow } from "../rows.js";
import { fetchRowsSql } from "../sql/chains.js";
import type { Tables } from "../sql/identifiers.js";
import { type ChainRow, ChainRows, type ChannelKey } from "./chain.js";
import { brokenChain, isAppendType } from "./format.js";

/** A compact row to rebuild; `type` and `blob` are replaced by the full value's. */
export interface Head extends ChannelKey {
  type: string;
  blob: Uint8Array;
}

export interface FetchedRow extends ChannelKey {
  type: string;
  version: string;
  blob: Uint8Array | null;
}

/** How the resolver runs its fallback fetch (the saver's `run`, for error codes and metrics). */
export type Fetch = (sql: string, params: unknown[]) => Promise<FetchedRow[]>;

/**
 * Rebuilds every head in place from `chains`. The read query fetched each head's chain, so one
 * pass normally does it; a base the chain lacks (a thread converted by `compact`/`expand` while
 * a writer kept appending to it) is fetched with its own chain, one round trip per level.
 */
export async function resolveHeads(
  t: Tables,
  heads: Head[],
  chains: ChainRows,
  fetch: Fetch,
  toBytes: (blob: Uint8Array) => Uint8Array = (b) => b,
): Promise<void> {
  let pending = heads;
  while (pending.length > 0) {
    const missing: Array<[Head, string]> = [];
    for (const head of pending) {
      const resolved = chains.resolve(head, head.blob);
      if ("missing" in resolved) missing.push([head, resolved.missing]);
      else {
        head.type = resolved.type;
        head.blob = toBytes(resolved.bytes);
      }
    }
    if (missing.length === 0) return;
    const before = chains.size;
    const rows = await fetch(fetchRowsSql(t), [
      missing.map(([h]) => h.thread_id),
      missing.map(([h]) => h.checkpoint_ns),
      missing.map(([h]) => h.channel),
      missing.map(([, version]) => version),
    ]);
    for (const r of rows) chains.add(r, r.version, r.type, r.blob);
    if (chains.size === before) {
      const [head, version] = missing[0] as [Head, string];
      throw brokenChain(`version ${version} of channel "${head.channel}" is missing`);
    }
    pending = missing.map(([h]) => h);
  }
}

/**
 * For readSql's rows: collects the chain rows (kind 3) and replaces each compact blob row
 * (kind 1) by its full value, so the rows look as if the thread were stored in full.
 */
export async function resolveReadRows(t: Tables, rows: ReadRow[], fetch: Fetch): Promise<void> {
  const chains = new ChainRows();
  const heads: Array<Head & { row: ReadRow }> = [];
  for (const r of rows) {
    if (r.kind === 3) {
      const k = { thread_id: r.thread_id, checkpoint_ns: r.checkpoint_ns, channel: r.a as string };
      if (r.blob) chains.addPacked(k, r.b as string, r.blob);
    } else if (r.kind === 1 && isAppendType(r.b) && r.blob) {
      heads.push({
        thread_id: r.thread_id,
        checkpoint_ns: r.checkpoint_ns,
        channel: r.a as string,
        type: r.b,
        blob: r.blob,
        row: r,
      });
    }
  }
  if (heads.length === 0) return;
  await resolveHeads(t, heads, chains, fetch);
  for (const h of heads) {
    h.row.b = h.type;
    h.row.blob = h.blob;
  }
}

/** getDeltaChannelHistory's seed rows (kind 1) that are compact, rebuilt in place. */
export async function resolveDeltaSeeds(
  t: Tables,
  key: { thread_id: string; checkpoint_ns: string },
  rows: Array<{ kind: number; channel: string; type: string; blob: Uint8Array }>,
  fetch: Fetch,
): Promise<void> {
  const heads = rows
    .filter((r) => r.kind === 1 && isAppendType(r.type) && r.blob)
    .map((row) => ({ ...key, channel: row.channel, type: row.type, blob: row.blob, row }));
  if (heads.length === 0) return;
  await resolveHeads(t, heads, new ChainRows(), fetch);
  for (const h of heads) {
    h.row.type = h.type;
    h.row.blob = h.blob;
  }
}

export type { ChainRow };

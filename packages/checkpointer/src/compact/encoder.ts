// Compact writes: which new channel values are stored as an append to a version written before.
import type { BlobRow } from "../sql/writes.js";
import { appendOverhead, appendType, commonPrefix, commonSuffix, encodeAppend } from "./format.js";

/** What is known about the last version of a channel that this process stored. */
export interface Previous {
  version: string;
  /** Serializer type of the full value ("json", "bytes", …). */
  type: string;
  /** The full serialized value. */
  bytes: Uint8Array;
  /** Version of the full row the chain starts from (its own version for a full row). */
  root: string;
  /** Compact rows between the root and this version. */
  depth: number;
  /** Bytes a read of this version fetches: the root and every compact row of the chain. */
  chainBytes: number;
}

export interface Planned {
  type: string;
  blob: Uint8Array;
  next: Previous;
}

/**
 * Full row or compact row. Compact when the new bytes share a prefix (and maybe a suffix) with
 * the previous version's and storing the middle is less than half the value, while the chain
 * stays under `maxChain` rows and a read of it fetches at most twice the value (this also caps
 * the rows per byte of value, since each row carries a header). Otherwise the value starts a new
 * chain as a full row. The rebuilt bytes are the new bytes exactly, whatever they encode.
 */
export function planRow(
  prev: Previous | undefined,
  version: string,
  type: string,
  bytes: Uint8Array,
  maxChain: number,
): Planned {
  if (prev && prev.type === type && prev.version !== version && prev.depth < maxChain) {
    const keep = commonPrefix(prev.bytes, bytes);
    const limit = Math.min(prev.bytes.length, bytes.length) - keep;
    const suffix = commonSuffix(prev.bytes, bytes, limit);
    const size = appendOverhead(prev.version, keep, suffix) + bytes.length - keep - suffix;
    const chainBytes = prev.chainBytes + size;
    if (keep + suffix > 0 && size * 2 < bytes.length && chainBytes <= 2 * bytes.length) {
      return {
        type: appendType(prev.root),
        blob: encodeAppend(prev.version, keep, suffix, bytes.subarray(keep, bytes.length - suffix)),
        next: { version, type, bytes, root: prev.root, depth: prev.depth + 1, chainBytes },
      };
    }
  }
  const next = { version, type, bytes, root: version, depth: 0, chainBytes: bytes.length };
  return { type, blob: bytes, next };
}

/**
 * The last stored version of each channel a thread wrote through this instance, bounded by
 * bytes (least recently written threads go first). Only versions whose write committed enter it,
 * so every base a compact row names exists. A thread that starts over (a put without a parent
 * checkpoint, after a delete) forgets what it knew.
 */
export class CompactEncoder {
  /** thread → (namespace \0 channel → previous), in least-recently-written order. */
  private readonly threads = new Map<string, Map<string, Previous>>();
  private held = 0;

  constructor(
    private readonly maxChain: number,
    private readonly maxBytes: number,
  ) {}

  /**
   * Rewrites the put's blob rows `[channel, version, type, bytes]` in place; returns what to call
   * once the write committed.
   */
  encode(threadId: string, ns: string, hasParent: boolean, rows: BlobRow[]): () => void {
    if (!hasParent) this.forget(threadId, ns === "" ? undefined : ns);
    const known = this.threads.get(threadId);
    const updates: Array<[string, Previous]> = [];
    for (const row of rows) {
      const { channel, version, type, blob: bytes } = row;
      if (bytes === null || bytes === undefined) continue;
      const key = `${ns}\u0000${channel}`;
      // A serializer may hand back a buffer the caller still owns (raw bytes): keep a copy.
      const own = type === "json" ? bytes : bytes.slice();
      const planned = planRow(known?.get(key), version, type, own, this.maxChain);
      row.type = planned.type;
      row.blob = planned.blob;
      updates.push([key, planned.next]);
    }
    return () => this.remember(threadId, updates);
  }

  /** Drops what is known about a thread (one namespace of it), or about every thread. */
  forget(threadId?: string, ns?: string): void {
    if (threadId === undefined) {
      this.threads.clear();
      this.held = 0;
      return;
    }
    const known = this.threads.get(threadId);
    if (!known) return;
    for (const [key, prev] of known) {
      if (ns !== undefined && !key.startsWith(`${ns}\u0000`)) continue;
      this.held -= prev.bytes.length;
      known.delete(key);
    }
    if (known.size === 0) this.threads.delete(threadId);
  }

  private remember(threadId: string, updates: Array<[string, Previous]>): void {
    if (updates.length === 0) return;
    const known = this.threads.get(threadId) ?? new Map<string, Previous>();
    this.threads.delete(threadId); // re-inserted last: most recently written
    this.threads.set(threadId, known);
    for (const [key, next] of updates) {
      this.held -= known.get(key)?.bytes.length ?? 0;
      known.set(key, next);
      this.held += next.bytes.length;
    }
    for (const [id, entries] of this.threads) {
      if (this.held <= this.maxBytes || id === threadId) break;
      for (const prev of entries.values()) this.held -= prev.bytes.length;
      this.threads.delete(id);
    }
  }
}

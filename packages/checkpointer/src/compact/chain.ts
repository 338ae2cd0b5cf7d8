// Rebuilds compact values from the chain rows a read fetched, and says which rows are missing.
import {
  type AppendRow,
  brokenChain,
  decodeAppend,
  isAppendType,
  text,
  valueLength,
} from "./format.js";

/** One stored blob row of a chain (a full row or a compact one). */
export interface ChainRow {
  type: string;
  blob: Uint8Array | null;
  decoded?: AppendRow;
}

/** Where a blob row lives: (thread, namespace, channel). */
export interface ChannelKey {
  thread_id: string;
  checkpoint_ns: string;
  channel: string;
}

const channelOf = (k: ChannelKey) => `${k.thread_id}\u0000${k.checkpoint_ns}\u0000${k.channel}`;

export type Resolved = { type: string; bytes: Uint8Array } | { missing: string };

/** The chain rows of one read, by (thread, namespace, channel, version). */
export class ChainRows {
  /** (thread, namespace, channel) → version → row. */
  private readonly channels = new Map<string, Map<string, ChainRow>>();
  size = 0;

  private channel(k: ChannelKey): Map<string, ChainRow> {
    const key = channelOf(k);
    let rows = this.channels.get(key);
    if (!rows) {
      rows = new Map();
      this.channels.set(key, rows);
    }
    return rows;
  }

  add(k: ChannelKey, version: string, type: string, blob: Uint8Array | null): void {
    this.put(this.channel(k), version, type, blob);
  }

  private put(rows: Map<string, ChainRow>, version: string, type: string, blob: Uint8Array | null) {
    if (rows.has(version)) return;
    rows.set(version, { type, blob });
    this.size += 1;
  }

  /**
   * Adds the rows of one packed chain (see packedSql in sql/chains.ts); blobs stay views of it.
   * A row with an empty type has the chain's own type.
   */
  addPacked(k: ChannelKey, chainType: string, packed: Uint8Array): void {
    const rows = this.channel(k);
    const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
    let at = 0;
    const field = () => {
      const length = view.getUint32(at);
      const value = length === 0 ? "" : text(packed.subarray(at + 4, at + 4 + length));
      at += 4 + length;
      return value;
    };
    while (at < packed.length) {
      const version = field();
      const type = field() || chainType;
      const length = view.getInt32(at);
      at += 4;
      const blob = length < 0 ? null : packed.subarray(at, at + length);
      at += Math.max(length, 0);
      this.put(rows, version, type, blob);
    }
  }

  /**
   * The full bytes of a compact row, walking its bases back to the chain's root. The value's
   * length is known from the head, so each row writes its own bytes straight into the result and
   * passes on only the ranges it takes from its base (one or two: kept prefix, kept suffix).
   * `missing` names a base this read did not fetch.
   */
  resolve(k: ChannelKey, head: Uint8Array): Resolved {
    const rows = this.channels.get(channelOf(k));
    let row = decodeAppend(head);
    const out = new Uint8Array(valueLength(row));
    /** [start, end) in the current row's value, written at `at` in `out`. */
    let ranges: Array<[number, number, number]> = [[0, out.length, 0]];
    for (let hops = 0; hops <= this.size; hops += 1) {
      const base = rows?.get(row.base);
      if (!base) return { missing: row.base };
      if (base.blob === null) throw brokenChain(`version ${row.base} has no bytes`);
      const compact = isAppendType(base.type);
      if (compact) base.decoded ??= decodeAppend(base.blob);
      const baseLength = compact ? valueLength(base.decoded as AppendRow) : base.blob.length;
      ranges = this.mapThrough(row, baseLength, ranges, out, k, row.base);
      if (!compact) {
        for (const [start, end, at] of ranges) {
          if (end > base.blob.length) {
            throw brokenChain(
              `version ${row.base} of channel "${k.channel}" is shorter than its use`,
            );
          }
          out.set(base.blob.subarray(start, end), at);
        }
        return { type: base.type, bytes: out };
      }
      row = base.decoded as AppendRow;
    }
    throw brokenChain(`the chain of channel "${k.channel}" loops`);
  }

  /** Writes the row's payload where ranges cover it; returns the ranges, in base coordinates. */
  private mapThrough(
    row: AppendRow,
    baseLength: number,
    ranges: Array<[number, number, number]>,
    out: Uint8Array,
    k: ChannelKey,
    base: string,
  ): Array<[number, number, number]> {
    const payloadAt = row.keep;
    const payloadEnd = row.keep + row.payload.length;
    const shift = baseLength - row.suffix - payloadEnd;
    if (row.keep + row.suffix > baseLength) {
      throw brokenChain(`version ${base} of channel "${k.channel}" is shorter than its use`);
    }
    const next: Array<[number, number, number]> = [];
    const push = (start: number, end: number, at: number) => {
      const last = next[next.length - 1];
      if (last && last[1] === start && last[2] + (last[1] - last[0]) === at) last[1] = end;
      else next.push([start, end, at]);
    };
    for (const [start, end, at] of ranges) {
      if (start < payloadAt) push(start, Math.min(end, payloadAt), at);
      const from = Math.max(start, payloadAt);
      const to = Math.min(end, payloadEnd);
      if (from < to)
        out.set(row.payload.subarray(from - payloadAt, to - payloadAt), at + from - start);
      const tail = Math.max(start, payloadEnd);
      if (tail < end) push(tail + shift, end + shift, at + tail - start);
    }
    return next;
  }
}

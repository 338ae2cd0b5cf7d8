// The compact storage format: a blob row that holds only what a value added to an earlier version.
import { CheckpointerError } from "../errors.js";

/**
 * `checkpoint_blobs.type` of a compact row is this prefix followed by the version of its chain's
 * root (the full row the chain starts from), so a read fetches a whole chain with one index scan.
 * Any serializer that meets it (the official saver's included) throws "Unknown serialization type".
 */
export const APPEND_TYPE_PREFIX = "agentstate-append:";

/** SQL predicate that matches compact rows; it is also the predicate of the v17 partial index. */
export const APPEND_TYPE_SQL = `'${APPEND_TYPE_PREFIX}%'`;

/** A leading NUL: a serializer that ignores the type tag still fails to parse the row as JSON. */
const MAGIC = [0x00, 0x61, 0x73, 0x31]; // "\0as1"

export const isAppendType = (type: string | null | undefined): type is string =>
  typeof type === "string" && type.startsWith(APPEND_TYPE_PREFIX);

export const appendType = (root: string) => APPEND_TYPE_PREFIX + root;

export const rootOf = (type: string) => type.slice(APPEND_TYPE_PREFIX.length);

/**
 * A compact row's content: the value is the base version's bytes `[0, keep)`, then `payload`,
 * then the base's last `suffix` bytes. An append keeps a prefix (and the closing bracket); an
 * edit in the middle (one file of a files dict) keeps both ends.
 */
export interface AppendRow {
  base: string;
  keep: number;
  suffix: number;
  payload: Uint8Array;
}

/** Length of the value a compact row stands for. */
export const valueLength = (row: AppendRow) => row.keep + row.payload.length + row.suffix;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const header = (base: Uint8Array, keep: number, suffix: number) =>
  encoder.encode(` ${keep} ${suffix} ${base.length} `);

/** `\0as1 <keep> <suffix> <base byte length> <base>\n<payload>`. */
export function encodeAppend(
  base: string,
  keep: number,
  suffix: number,
  payload: Uint8Array,
): Uint8Array {
  const baseBytes = encoder.encode(base);
  const head = header(baseBytes, keep, suffix);
  const out = new Uint8Array(MAGIC.length + head.length + baseBytes.length + 1 + payload.length);
  out.set(MAGIC, 0);
  let at = MAGIC.length;
  out.set(head, at);
  at += head.length;
  out.set(baseBytes, at);
  at += baseBytes.length;
  out[at] = 0x0a;
  out.set(payload, at + 1);
  return out;
}

/** Bytes encodeAppend adds to the payload. */
export function appendOverhead(base: string, keep: number, suffix: number): number {
  const baseBytes = encoder.encode(base);
  return MAGIC.length + header(baseBytes, keep, suffix).length + baseBytes.length + 1;
}

export function decodeAppend(blob: Uint8Array): AppendRow {
  for (let i = 0; i < MAGIC.length; i += 1) {
    if (blob[i] !== MAGIC[i]) throw brokenChain("a compact row does not start with its marker");
  }
  let at = MAGIC.length + 1;
  const number = () => {
    let n = 0;
    const start = at;
    for (; at < blob.length && blob[at] !== 0x20; at += 1) {
      const digit = (blob[at] as number) - 0x30;
      if (digit < 0 || digit > 9) throw brokenChain("a compact row has a bad header");
      n = n * 10 + digit;
    }
    at += 1;
    if (at - start < 2 || !Number.isSafeInteger(n)) {
      throw brokenChain("a compact row has a bad header");
    }
    return n;
  };
  const keep = number();
  const suffix = number();
  const baseLength = number();
  const base = text(blob.subarray(at, at + baseLength));
  at += baseLength;
  if (blob[at] !== 0x0a) throw brokenChain("a compact row has a bad header");
  return { base, keep, suffix, payload: blob.subarray(at + 1) };
}

/** UTF-8 bytes as a string (versions, type tags). */
export const text = (bytes: Uint8Array): string => decoder.decode(bytes);

const STEP = 4096;
const view = (a: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** Length of the common prefix of two byte arrays (memcmp in 4 KiB steps, then byte by byte). */
export function commonPrefix(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  const x = view(a);
  const y = view(b);
  let i = 0;
  while (i + STEP <= n && x.compare(y, i, i + STEP, i, i + STEP) === 0) i += STEP;
  while (i < n && a[i] === b[i]) i += 1;
  return i;
}

/** Length of the common suffix of two byte arrays, at most `limit`. */
export function commonSuffix(a: Uint8Array, b: Uint8Array, limit: number): number {
  const n = Math.min(a.length, b.length, limit);
  const x = view(a);
  const y = view(b);
  let i = 0;
  while (
    i + STEP <= n &&
    x.compare(y, b.length - i - STEP, b.length - i, a.length - i - STEP, a.length - i) === 0
  ) {
    i += STEP;
  }
  while (i < n && a[a.length - 1 - i] === b[b.length - 1 - i]) i += 1;
  return i;
}

export function brokenChain(detail: string, cause?: unknown): CheckpointerError {
  return new CheckpointerError(
    "BROKEN_CHAIN",
    `A compact value cannot be rebuilt: ${detail}. A row it builds on was deleted outside agentstate (or by a concurrent delete while the thread was written). Restore the thread from a backup or archive, or delete it.`,
    { cause },
  );
}

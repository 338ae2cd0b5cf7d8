// The read path's rows turned into CheckpointTuples: grouping a page's rows by checkpoint,
// decoding blobs and pending writes, and upgrading pre-v4 checkpoints' pending sends.
import type { RunnableConfig } from "@langchain/core/runnables";
import {
  type Checkpoint,
  type CheckpointPendingWrite,
  type CheckpointTuple,
  compareWritesSortKeys,
  maxChannelVersion,
  type SerializerProtocol,
  TASKS,
  writesSortKey,
} from "@langchain/langgraph-checkpoint";
import { fromJsonbText, parseJsonb } from "./nul.js";

/** One row of readSql(): kind 0 = checkpoint, 1 = channel blob, 2 = pending write, 3 = chain row. */
export interface ReadRow {
  kind: number;
  thread_id: string;
  checkpoint_ns: string;
  checkpoint_id: string;
  a: string | null;
  b: string | null;
  c: string | null;
  d: string | null;
  blob: Uint8Array | null;
  idx: number;
}

interface Group {
  head: ReadRow;
  blobs: ReadRow[];
  writes: ReadRow[];
}

const keyOf = (r: ReadRow) => `${r.thread_id}\u0000${r.checkpoint_ns}\u0000${r.checkpoint_id}`;

/** Groups the flat read rows per checkpoint, keeping the order of kind-0 rows given by `order`. */
export function groupRows(rows: ReadRow[]): Group[] {
  const groups = new Map<string, Group>();
  for (const row of rows) {
    if (row.kind === 3) continue; // compact chains: rebuilt into their blob rows before this
    const key = keyOf(row);
    let g = groups.get(key);
    if (row.kind === 0) {
      if (!g) groups.set(key, { head: row, blobs: [], writes: [] });
      else g.head = row;
      continue;
    }
    if (!g) {
      g = { head: row, blobs: [], writes: [] };
      groups.set(key, g);
    }
    (row.kind === 1 ? g.blobs : g.writes).push(row);
  }
  return [...groups.values()];
}

export async function toTuple(serde: SerializerProtocol, g: Group): Promise<CheckpointTuple> {
  const { thread_id, checkpoint_ns, checkpoint_id, a: parentId } = g.head;
  const stored = parseJsonb<Checkpoint>(g.head.b ?? "{}");
  const channelValues: Record<string, unknown> = {};
  await Promise.all(
    g.blobs.map(async (r) => {
      if (r.b === "empty" || r.blob === null) return;
      channelValues[r.a as string] = await serde.loadsTyped(r.b as string, plainBytes(r.blob));
    }),
  );
  // (task_path, task_id, idx) in code-point order: the order live execution applies them in.
  const key = (r: ReadRow) => writesSortKey(r.d ?? "", r.a ?? "", r.idx);
  g.writes.sort((x, y) => compareWritesSortKeys(key(x), key(y)));
  const pendingWrites: CheckpointPendingWrite[] = await Promise.all(
    g.writes.map(
      async (r) =>
        [
          r.a as string,
          r.b as string,
          await serde.loadsTyped(r.c ?? "json", r.blob ? plainBytes(r.blob) : ""),
        ] as CheckpointPendingWrite,
    ),
  );
  const checkpoint: Checkpoint = {
    ...stored,
    channel_versions: stored.channel_versions ?? {},
    versions_seen: stored.versions_seen ?? {},
    channel_values: channelValues,
  };
  const metadata = await serde.loadsTyped("json", fromJsonbText(g.head.c ?? "{}"));
  const config = (id: string): RunnableConfig => ({
    configurable: { thread_id, checkpoint_ns, checkpoint_id: id },
  });
  return {
    config: config(checkpoint_id),
    checkpoint,
    metadata,
    parentConfig: parentId ? config(parentId) : undefined,
    pendingWrites,
  };
}

/**
 * node-postgres hands bytea over as a Buffer; a value stored as raw bytes (type "bytes") comes
 * back as the plain Uint8Array it was, as from MemorySaver and PGlite. No copy.
 */
export function plainBytes(blob: Uint8Array): Uint8Array {
  return Buffer.isBuffer(blob)
    ? new Uint8Array(blob.buffer, blob.byteOffset, blob.byteLength)
    : blob;
}

/**
 * Checkpoints older than format v4 kept sends as TASKS writes on their parent; readers expect
 * them in channel_values. Same upgrade the official savers apply on read.
 */
export async function migratePendingSends(
  serde: SerializerProtocol,
  tuple: CheckpointTuple,
  sends: Array<{ type: string; blob: Uint8Array }>,
  nextVersion: () => number | string,
): Promise<void> {
  const values = await Promise.all(sends.map((s) => serde.loadsTyped(s.type, s.blob)));
  const cp = tuple.checkpoint;
  cp.channel_values[TASKS] = values;
  const versions = Object.values(cp.channel_versions);
  cp.channel_versions[TASKS] = versions.length > 0 ? maxChannelVersion(...versions) : nextVersion();
}

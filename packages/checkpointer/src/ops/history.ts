// getDeltaChannelHistory: one statement (sql/history.ts; a second walks parent links when a fork
// interleaves branches before a seed), each channel's packed writes decoded in order, compact
// seeds rebuilt (one more statement only then).
import type { RunnableConfig } from "@langchain/core/runnables";
import type { DeltaChannelHistory, SerializerProtocol } from "@langchain/langgraph-checkpoint";
import { type FetchedRow, resolveDeltaSeeds } from "../compact/read.js";
import { checkKey } from "../input.js";
import { plainBytes } from "../rows.js";
import type { DbSeam } from "../seam.js";
import { deltaHistorySql, deltaHistoryWalkSql, unpackWrites } from "../sql/history.js";

const WHAT = "getDeltaChannelHistory()";

interface HistoryRow {
  kind: number;
  channel: string;
  type: string;
  blob: Uint8Array;
}

export async function deltaChannelHistory(
  db: DbSeam & { readonly serde: SerializerProtocol },
  options: { config: RunnableConfig; channels: string[] },
): Promise<Record<string, DeltaChannelHistory>> {
  const { config, channels } = options;
  if (channels.length === 0) return {};
  const { thread_id, checkpoint_ns = "", checkpoint_id } = config.configurable ?? {};
  const result: Record<string, DeltaChannelHistory> = {};
  for (const ch of channels) result[ch] = { writes: [] };
  if (thread_id === undefined || thread_id === null) return result;
  const op = "getDeltaChannelHistory";
  const key = {
    thread_id: checkKey(op, "thread_id", thread_id),
    checkpoint_ns: checkKey(op, "checkpoint_ns", checkpoint_ns ?? "", true),
  };
  const params = [
    key.thread_id,
    key.checkpoint_ns,
    checkpoint_id ? checkKey(op, "checkpoint_id", checkpoint_id) : null,
    [...new Set(channels)].map((ch) => checkKey(op, "channel", ch)),
  ];
  let rows = await db.run<HistoryRow>(WHAT, deltaHistorySql(db.tables), params);
  // not linear (a fork interleaves branches before a seed): walk parent links instead
  if (rows.some((r) => r.kind === 2)) {
    rows = await db.run<HistoryRow>(WHAT, deltaHistoryWalkSql(db.tables), params);
  }
  const seeds = rows.filter((r) => r.kind === 1);
  await resolveDeltaSeeds(db.tables, key, seeds, (sql, params) =>
    db.run<FetchedRow>(WHAT, sql, params),
  );
  const writes = rows.filter((r) => r.kind === 0).flatMap((r) => unpackWrites(r.blob, r.channel));
  const values = await Promise.all([
    ...writes.map((w) => db.serde.loadsTyped(w.type, plainBytes(w.blob))),
    ...seeds.map((r) => db.serde.loadsTyped(r.type ?? "json", plainBytes(r.blob))),
  ]);
  writes.forEach((w, i) => {
    result[w.channel]?.writes.push([w.taskId, w.channel, values[i]]);
  });
  seeds.forEach((r, i) => {
    const entry = result[r.channel];
    if (entry) entry.seed = values[writes.length + i];
  });
  return result;
}

// getDeltaChannelHistory: one statement (sql/history.ts; a second walks parent links when a fork
// interleaves branches before a seed), its write rows decoded in the order they come, compact
// seeds rebuilt (one more statement only then).
import type { RunnableConfig } from "@langchain/core/runnables";
import type { DeltaChannelHistory, SerializerProtocol } from "@langchain/langgraph-checkpoint";
import { type FetchedRow, resolveDeltaSeeds } from "../compact/read.js";
import { checkKey } from "../input.js";
import { plainBytes } from "../rows.js";
import type { DbSeam } from "../seam.js";
import { deltaHistorySql, deltaHistoryWalkSql } from "../sql/history.js";

const WHAT = "getDeltaChannelHistory()";

/** kind 0: a write (in replay order), 1: a seed, 2: not linear (see deltaHistorySql). */
interface HistoryRow {
  kind: number;
  channel: string;
  task_id: string | null;
  /** NULL in the writes table reads as "json", as the official saver does. */
  type: string | null;
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
  const wanted = [...new Set(channels)].map((ch) => checkKey(op, "channel", ch));
  const params = [
    key.thread_id,
    key.checkpoint_ns,
    checkpoint_id ? checkKey(op, "checkpoint_id", checkpoint_id) : null,
    wanted,
  ];
  let rows = await db.run<HistoryRow>(WHAT, deltaHistorySql(db.tables, wanted.length), params);
  // not linear (a fork interleaves branches before a seed): walk parent links instead
  if (rows.some((r) => r.kind === 2)) {
    rows = await db.run<HistoryRow>(WHAT, deltaHistoryWalkSql(db.tables), params);
  }
  const seeds = rows.filter((r) => r.kind === 1) as Array<HistoryRow & { type: string }>;
  await resolveDeltaSeeds(db.tables, key, seeds, (sql, params) =>
    db.run<FetchedRow>(WHAT, sql, params),
  );
  const writes = rows.filter((r) => r.kind === 0);
  const values = await Promise.all([
    ...writes.map((w) => db.serde.loadsTyped(w.type ?? "json", plainBytes(w.blob))),
    ...seeds.map((r) => db.serde.loadsTyped(r.type ?? "json", plainBytes(r.blob))),
  ]);
  writes.forEach((w, i) => {
    result[w.channel]?.writes.push([w.task_id ?? "", w.channel, values[i]]);
  });
  seeds.forEach((r, i) => {
    const entry = result[r.channel];
    if (entry) entry.seed = values[writes.length + i];
  });
  return result;
}

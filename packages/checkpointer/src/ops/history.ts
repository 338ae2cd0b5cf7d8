// getDeltaChannelHistory: one statement (sql/history.ts), its packed writes decoded in order,
// compact seeds rebuilt (one more statement only then).
import type { RunnableConfig } from "@langchain/core/runnables";
import type { DeltaChannelHistory, SerializerProtocol } from "@langchain/langgraph-checkpoint";
import { type FetchedRow, resolveDeltaSeeds } from "../compact/read.js";
import { checkKey } from "../input.js";
import { plainBytes } from "../rows.js";
import type { DbSeam } from "../seam.js";
import { deltaHistorySql, unpackWrites } from "../sql/history.js";

const WHAT = "getDeltaChannelHistory()";

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
  const rows = await db.run<{ kind: number; channel: string; type: string; blob: Uint8Array }>(
    WHAT,
    deltaHistorySql(db.tables),
    [
      key.thread_id,
      key.checkpoint_ns,
      checkpoint_id ? checkKey(op, "checkpoint_id", checkpoint_id) : null,
      channels.map((ch) => checkKey(op, "channel", ch)),
    ],
  );
  const seeds = rows.filter((r) => r.kind === 1);
  await resolveDeltaSeeds(db.tables, key, seeds, (sql, params) =>
    db.run<FetchedRow>(WHAT, sql, params),
  );
  const writes = unpackWrites(rows.find((r) => r.kind === 0)?.blob ?? null);
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

import { PostgresCheckpointer } from "@agentstate/checkpointer";
import {
  type BaseCheckpointSaver,
  JsonPlusSerializer,
  type SerializerProtocol,
} from "@langchain/langgraph-checkpoint";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import type { BenchSaver } from "./savers.js";

/**
 * A serde whose reads hand back the stored bytes undecoded. Reviving LangChain messages costs the
 * same whichever saver read them (about 50 ms per 1,000 messages); with this serde a read costs
 * only the saver's own work: SQL, transfer, driver decoding, assembling the tuple.
 */
export function undecodedSerde(): SerializerProtocol {
  const json = new JsonPlusSerializer();
  return {
    dumpsTyped: (value) => json.dumpsTyped(value),
    loadsTyped: async (_type, data) => data,
  };
}

/** A second instance of the same saver kind on the same pool and schema, with another serde. */
export function withSerde(s: BenchSaver, serde: SerializerProtocol): BaseCheckpointSaver {
  if (!s.pool || !s.schema) throw new Error(`${s.kind} has no Postgres tables to read`);
  if (s.kind === "ours") return new PostgresCheckpointer(s.pool, serde, { schema: s.schema });
  if (s.kind === "official") return new PostgresSaver(s.pool, serde, { schema: s.schema });
  throw new Error(`no reader for ${s.kind}`);
}

/** Refreshes planner statistics, as autovacuum would have on a live database. */
export async function analyze(s: BenchSaver): Promise<void> {
  if (!s.pool || !s.schema) return;
  const q = `"${s.schema}"`;
  await s.pool.query(`ANALYZE ${q}.checkpoints, ${q}.checkpoint_blobs, ${q}.checkpoint_writes`);
}

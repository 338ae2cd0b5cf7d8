import { PostgresCheckpointer, type PostgresCheckpointerOptions } from "@agentstate/checkpointer";
import type { RunnableConfig } from "@langchain/core/runnables";
import {
  type BaseCheckpointSaver,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointMetadata,
  MemorySaver,
  type PendingWrite,
} from "@langchain/langgraph-checkpoint";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import type pg from "pg";
import { dropSchema, freshSchema, newPool, StatementCounter } from "./pg.js";

export type SaverKind = "ours" | "official" | "memory" | "floor";

export interface BenchSaver {
  kind: SaverKind;
  saver: BaseCheckpointSaver;
  /** Null for MemorySaver. */
  pool: pg.Pool | null;
  schema: string | null;
  statements: StatementCounter | null;
  /** Ends the pool and drops the schema. */
  dispose(): Promise<void>;
}

/**
 * The least a one-statement Postgres saver must pay: MemorySaver's bookkeeping plus one plain
 * INSERT of the serialized changed values per put and per putWrites. No reads hit Postgres.
 */
export class FloorSaver extends MemorySaver {
  constructor(
    private readonly pool: pg.Pool,
    private readonly table: string,
  ) {
    super();
  }

  override async put(
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    newVersions: ChannelVersions = {},
  ): Promise<RunnableConfig> {
    const result = await super.put(config, checkpoint, metadata);
    const parts = await Promise.all(
      Object.keys(newVersions)
        .filter((ch) => ch in checkpoint.channel_values)
        .map(async (ch) => (await this.serde.dumpsTyped(checkpoint.channel_values[ch]))[1]),
    );
    await this.insert(String(config.configurable?.thread_id), parts);
    return result;
  }

  override async putWrites(
    config: RunnableConfig,
    writes: PendingWrite[],
    taskId: string,
    taskPath?: string,
  ): Promise<void> {
    await super.putWrites(config, writes, taskId, taskPath);
    const parts = await Promise.all(
      writes.map(async ([, v]) => (await this.serde.dumpsTyped(v))[1]),
    );
    await this.insert(String(config.configurable?.thread_id), parts);
  }

  private async insert(threadId: string, parts: Uint8Array[]): Promise<void> {
    await this.pool.query(`INSERT INTO ${this.table} (thread_id, payload) VALUES ($1, $2)`, [
      threadId,
      Buffer.concat(parts),
    ]);
  }
}

/** A set-up saver of the given kind, in a fresh schema of its own (Postgres kinds). */
export async function createSaver(
  kind: SaverKind,
  poolSize = 10,
  options: Omit<PostgresCheckpointerOptions, "schema"> = {},
): Promise<BenchSaver> {
  if (kind === "memory") {
    const saver = new MemorySaver();
    return { kind, saver, pool: null, schema: null, statements: null, dispose: async () => {} };
  }
  const schema = freshSchema(kind);
  const pool = newPool(poolSize);
  const statements = new StatementCounter(pool);
  let saver: BaseCheckpointSaver;
  try {
    if (kind === "ours") {
      const ours = new PostgresCheckpointer(pool, undefined, { ...options, schema });
      await ours.setup();
      saver = ours;
    } else if (kind === "official") {
      const official = new PostgresSaver(pool, undefined, { schema });
      await official.setup();
      saver = official;
    } else {
      const table = `"${schema}".floor_writes`;
      await pool.query(`CREATE SCHEMA "${schema}"`);
      await pool.query(`CREATE TABLE ${table} (thread_id TEXT NOT NULL, payload BYTEA NOT NULL)`);
      saver = new FloorSaver(pool, table);
    }
  } catch (error) {
    await pool.end().catch(() => {});
    await dropSchema(schema).catch(() => {});
    throw error;
  }
  return {
    kind,
    saver,
    pool,
    schema,
    statements,
    async dispose() {
      await pool.end().catch(() => {});
      await dropSchema(schema);
    },
  };
}

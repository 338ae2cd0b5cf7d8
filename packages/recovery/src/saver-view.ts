// Read-through views of the checkpointer, for running LangGraph's own state code against the real
// saver while watching or diverting a call: detection keeps the head tuple getState reads, the
// in-flight answer captures the writes bulkUpdateState computes. A view forwards exactly the
// methods LangGraph's state code calls; a subclass overrides the one it needs.
import type { PostgresCheckpointer } from "@agentstate/checkpointer";
import type { RunnableConfig } from "@langchain/core/runnables";
import type {
  ChannelVersions,
  Checkpoint,
  CheckpointListOptions,
  CheckpointMetadata,
  PendingWrite,
} from "@langchain/langgraph-checkpoint";
import type { PregelLike } from "./graph.js";

export class CheckpointerView {
  constructor(protected readonly saver: PostgresCheckpointer) {}

  getTuple(config: RunnableConfig) {
    return this.saver.getTuple(config);
  }

  list(config: RunnableConfig, options?: CheckpointListOptions) {
    return this.saver.list(config, options);
  }

  getNextVersion(current: number | undefined) {
    return this.saver.getNextVersion(current);
  }

  getDeltaChannelHistory(options: Parameters<PostgresCheckpointer["getDeltaChannelHistory"]>[0]) {
    return this.saver.getDeltaChannelHistory(options);
  }

  put(
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    newVersions: ChannelVersions,
  ): Promise<RunnableConfig> {
    return this.saver.put(config, checkpoint, metadata, newVersions);
  }

  putWrites(
    config: RunnableConfig,
    writes: PendingWrite[],
    taskId: string,
    taskPath?: string,
  ): Promise<void> {
    return this.saver.putWrites(config, writes, taskId, taskPath);
  }
}

/**
 * The compiled graph with `checkpointer` in place of its own (all else is the graph's: its
 * methods read `this.checkpointer`). For one call; the graph itself is not changed.
 */
export function withCheckpointer(pregel: PregelLike, checkpointer: CheckpointerView): PregelLike {
  return Object.create(pregel, { checkpointer: { value: checkpointer } });
}

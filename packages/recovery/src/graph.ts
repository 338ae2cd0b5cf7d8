// What recovery accepts as a graph (a compiled graph or a createAgent agent), resolved once to a
// handle with its @agentstate checkpointer, and several graphs by id for one service.
import type { PostgresCheckpointer } from "@agentstate/checkpointer";
import type { RunnableConfig } from "@langchain/core/runnables";
import type { StateSnapshot } from "@langchain/langgraph";
import { RecoveryError } from "./errors.js";

/** The compiled-graph surface recovery uses (a `CompiledStateGraph` / `Pregel` has all of it). */
export interface PregelLike {
  getState(config: RunnableConfig): Promise<StateSnapshot>;
  stream(input: unknown, options?: Record<string, unknown>): Promise<AsyncIterable<unknown>>;
  updateState(config: RunnableConfig, values: unknown, asNode?: string): Promise<RunnableConfig>;
  bulkUpdateState(
    config: RunnableConfig,
    supersteps: Array<{ updates: Array<{ values?: unknown; asNode?: string; taskId?: string }> }>,
  ): Promise<RunnableConfig>;
  nodes: Record<string, unknown>;
  checkpointer?: unknown;
  interruptBefore?: string[] | "*";
  interruptAfter?: string[] | "*";
}

/**
 * What the API accepts as a graph: a compiled LangGraph graph, or an agent from `createAgent()`
 * (which wraps one in `.graph` and adds its own `stream`).
 */
export type RecoverableGraph =
  | PregelLike
  | {
      // Typed loosely: an agent's compiled graph carries generics PregelLike need not spell out.
      graph: object;
      stream(input: any, options?: any): Promise<AsyncIterable<unknown>>;
    };

/** A graph resolved for recovery: the compiled graph, the thing to stream, and our checkpointer. */
export interface GraphHandle {
  pregel: PregelLike;
  /** `agent.stream` for an agent (it prepares middleware state), else the compiled graph's. */
  stream(input: unknown, options: Record<string, unknown>): Promise<AsyncIterable<unknown>>;
  saver: PostgresCheckpointer;
}

/** Duck-typed so two copies of @agentstate/checkpointer in one app still work together. */
export function isAgentstateSaver(value: unknown): value is PostgresCheckpointer {
  const v = value as Partial<PostgresCheckpointer> | null;
  return (
    typeof v === "object" &&
    v !== null &&
    typeof v.attachLease === "function" &&
    typeof v.run === "function" &&
    typeof v.tables?.runs === "string"
  );
}

export function resolveGraph(graph: RecoverableGraph): GraphHandle {
  const wrapped = (graph as { graph?: PregelLike }).graph;
  const pregel =
    wrapped && typeof wrapped.getState === "function" ? wrapped : (graph as PregelLike);
  if (!pregel || typeof pregel.getState !== "function" || typeof pregel.stream !== "function") {
    throw new RecoveryError(
      "INVALID_ARGUMENT",
      "Expected a compiled LangGraph graph (graph.compile()) or an agent from createAgent().",
    );
  }
  const saver = pregel.checkpointer;
  if (!isAgentstateSaver(saver)) {
    throw new RecoveryError(
      "NO_CHECKPOINTER",
      saver
        ? "The graph's checkpointer is not an @agentstate/checkpointer PostgresCheckpointer: leases and fencing need it. Compile with `checkpointer: await getCheckpointer()` (it reads the official saver's tables)."
        : "The graph has no checkpointer. Compile it with `checkpointer: await getCheckpointer()` or set `graph.checkpointer = saver`.",
    );
  }
  const runner = graph as { stream: GraphHandle["stream"] };
  return { pregel, stream: (input, options) => runner.stream(input, options), saver };
}

/** The root-namespace config of a thread. */
export function threadConfig(threadId: string): RunnableConfig {
  return { configurable: { thread_id: threadId } };
}

/** Several graphs by id (as in langgraph.json); threads carry their graph id in the ledger. */
export class GraphSet {
  private readonly handles = new Map<string, GraphHandle>();
  readonly saver: PostgresCheckpointer;

  constructor(graphs: RecoverableGraph | Record<string, RecoverableGraph>) {
    // A graph or agent streams; a map of graphs (even one keyed "graph") does not.
    const isOne = typeof (graphs as PregelLike).stream === "function";
    const entries = isOne
      ? [["default", graphs as RecoverableGraph] as const]
      : Object.entries(graphs as Record<string, RecoverableGraph>);
    if (entries.length === 0) throw new RecoveryError("INVALID_ARGUMENT", "No graph given.");
    for (const [id, g] of entries) this.handles.set(id, resolveGraph(g));
    const first = this.handles.values().next().value as GraphHandle;
    this.saver = first.saver;
    for (const [id, h] of this.handles) {
      if (h.saver !== this.saver) {
        throw new RecoveryError(
          "INVALID_ARGUMENT",
          `Graph "${id}" uses a different checkpointer instance: give all graphs the same one.`,
        );
      }
    }
  }

  get ids(): string[] {
    return [...this.handles.keys()];
  }

  /**
   * The graph that resumes a thread: the only one, or the one whose id the ledger recorded, or the
   * first for threads that carry no id (plain invokes). Undefined when the recorded id is unknown:
   * resuming with the wrong graph would corrupt the thread.
   */
  get(graphId?: string | null): { id: string; handle: GraphHandle } | undefined {
    if (graphId && this.handles.size > 1) {
      const h = this.handles.get(graphId);
      return h ? { id: graphId, handle: h } : undefined;
    }
    const [id, handle] = this.handles.entries().next().value as [string, GraphHandle];
    return { id, handle };
  }
}

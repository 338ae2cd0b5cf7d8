// What a scenario is: a graph plus a script of calls, as data. One runner (runner.ts) executes any
// scenario against any saver; the oracle is MemorySaver.
import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";

/** The calls a script uses; compiled graphs from any @langchain/langgraph copy fit. */
export interface Graph {
  invoke(input: unknown, config?: any): Promise<unknown>;
  stream(input: unknown, config?: any): Promise<AsyncIterable<unknown>>;
  getState(config: any, options?: { subgraphs?: boolean }): Promise<any>;
  getStateHistory(config: any, options?: any): AsyncIterable<any>;
  updateState(config: any, values: unknown, asNode?: string): Promise<any>;
}

/** Extra RunnableConfig for a call (durability, recursionLimit, configurable extras). */
export type CallConfig = Record<string, unknown>;

/** A value, or a function making a fresh one per run (inputs LangGraph may mutate, messages). */
export type Fresh<T = unknown> = T | (() => T);

/** A checkpoint of the thread named by its index in getStateHistory(): 0 is the newest. */
export type At = number;

interface Common {
  /** Thread the call runs on. @default "main" */
  thread?: string;
  /** Run against this checkpoint instead of the latest (replay, fork). */
  at?: At;
  config?: CallConfig;
}

export type StreamMode = "values" | "updates" | "debug" | "tasks" | "checkpoints" | "custom";

export type Step =
  | (Common & { op: "invoke"; input: Fresh })
  | (Common & { op: "stream"; input: Fresh; mode: StreamMode | StreamMode[]; subgraphs?: boolean })
  /** invoke(new Command(command)); `resume` may be a function of the pending interrupts. */
  | (Common & {
      op: "command";
      command: { resume?: unknown; update?: Fresh; goto?: Fresh };
      /** Builds the resume value from getState().tasks' interrupts (maps keyed by interrupt id). */
      resumeFrom?: (interrupts: Array<{ id: string; value: unknown }>) => unknown;
      mode?: StreamMode | StreamMode[];
    })
  | (Common & { op: "update"; values: Fresh; asNode?: string })
  | (Common & { op: "state"; subgraphs?: boolean })
  | (Common & { op: "history"; limit?: number; filter?: Record<string, unknown>; before?: At })
  /** Anything the ops above cannot say; returns what goes into the transcript. */
  | (Common & { op: "call"; run: (ctx: StepContext) => Promise<unknown> });

export interface StepContext {
  graph: Graph;
  saver: BaseCheckpointSaver;
  config(thread?: string): { configurable: Record<string, unknown> };
}

export interface Scenario {
  name: string;
  family: string;
  build(checkpointer: BaseCheckpointSaver): Graph | Promise<Graph>;
  script: Step[];
  /**
   * Saver ops this scenario cannot run yet, with the reason: the test expects a difference and
   * fails once it is gone, so the mark is removed with the fix.
   */
  knownDifference?: string;
  /** Skip the end-of-scenario dump of raw tuples (huge threads dump a digest instead). */
  digestOnly?: boolean;
  /** Runs long (1,000 steps, megabytes): a longer timeout. */
  heavy?: boolean;
}

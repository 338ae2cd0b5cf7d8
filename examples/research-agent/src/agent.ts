import { getCheckpointer, type PostgresCheckpointer } from "@agentstate/checkpointer";
import {
  checkStuckState,
  createErrorRecoveryMiddleware,
  type RecoverResult,
  recoverStuckSession,
  type StuckState,
  withRecovery,
} from "@agentstate/recovery";
import { createDeepAgent } from "deepagents";
import { buildBackend, type ResearchBackend } from "./backend.js";
import type { ResearchConfig } from "./config.js";
import { ResearchPlanModel } from "./model.js";
import { analyzeTool, type ToolOptions, webSearchTool } from "./tools.js";

const SYSTEM_PROMPT =
  "You are a research agent. Keep work in progress under /projects/, put shareable deliverables under /uploads/, and use any other path for scratch notes.";

/**
 * The agent itself: deepagents with our composite backend, the stand-in research tools, and
 * langchain's retry middleware for transient model/tool errors. No database here: pass a
 * checkpointer, or let the `agentstate` CLI attach its own (`agent.checkpointer = saver`).
 */
export async function createResearchAgent(options: {
  backend: ResearchBackend["backend"];
  checkpointer?: PostgresCheckpointer;
  effectsFile?: string;
  slowCall?: ToolOptions["slowCall"];
}) {
  const holder: { agent?: { checkpointer?: unknown } } = {};
  const toolOptions: ToolOptions = {
    checkpointer: () =>
      (holder.agent?.checkpointer ?? options.checkpointer) as PostgresCheckpointer | undefined,
    effectsFile: options.effectsFile,
    slowCall: options.slowCall,
  };
  const agent = createDeepAgent({
    model: new ResearchPlanModel(),
    tools: [webSearchTool(toolOptions), analyzeTool(toolOptions)],
    systemPrompt: SYSTEM_PROMPT,
    backend: options.backend,
    checkpointer: options.checkpointer,
    middleware: [...(await createErrorRecoveryMiddleware())],
  });
  holder.agent = agent as unknown as { checkpointer?: unknown };
  return agent;
}

export type Agent = Awaited<ReturnType<typeof createResearchAgent>>;

/**
 * What an app holds: the agent on a durable checkpointer, its files, and recovery. `run()`
 * streams under a lease (a crash leaves a thread that `agentstate recover` or `recover()` can
 * finish) and resumes from the last checkpoint after transient failures mid-stream.
 */
export class ResearchAgent {
  private constructor(
    readonly config: ResearchConfig,
    readonly checkpointer: PostgresCheckpointer,
    readonly files: ResearchBackend,
    readonly agent: Agent,
  ) {}

  static async open(config: ResearchConfig): Promise<ResearchAgent> {
    const checkpointer = await getCheckpointer({
      connectionString: config.databaseUrl,
      schema: config.schema,
      dataDir: config.dataDir,
    });
    const files = buildBackend(config);
    const agent = await createResearchAgent({
      backend: files.backend,
      checkpointer,
      effectsFile: config.effectsFile,
      slowCall: config.slowCall,
    });
    return new ResearchAgent(config, checkpointer, files, agent);
  }

  private recoveryOptions() {
    return { leaseSeconds: this.config.leaseSeconds, durability: "sync" as const };
  }

  /** Runs a research task on a thread; `onStep` hears each model turn and tool result. */
  async run(threadId: string, task: string, onStep?: (update: unknown) => void): Promise<void> {
    const durable = withRecovery(this.agent, { ...this.recoveryOptions(), durable: true });
    const stream = await durable.stream(
      { messages: [{ role: "user", content: task }] },
      { configurable: { thread_id: threadId }, streamMode: "updates", recursionLimit: 200 },
    );
    for await (const update of stream) onStep?.(update);
  }

  status(threadId: string): Promise<StuckState> {
    return checkStuckState(threadId, this.agent, this.recoveryOptions());
  }

  /** Finishes a crashed thread from its last checkpoint (exactly one caller resumes it). */
  recover(threadId: string): Promise<RecoverResult> {
    return recoverStuckSession(threadId, this.agent, this.recoveryOptions());
  }

  /** The thread's state values: messages and the files kept in graph state. */
  async state(threadId: string): Promise<{
    messages: Array<{ content: unknown; getType(): string }>;
    files?: Record<string, unknown>;
  }> {
    const graph = this.agent as unknown as { getState(c: object): Promise<{ values: never }> };
    return (await graph.getState({ configurable: { thread_id: threadId } })).values;
  }

  /** A signed, expiring URL for a file under /uploads/. */
  async shareableUrl(uploadPath: string, expiresIn = 3600): Promise<string> {
    const result = await this.files.uploads.getShareableUrl(uploadPath.replace(/^\/uploads/, ""), {
      expiresIn,
    });
    if ("error" in result) throw new Error(result.error);
    return result.url;
  }

  async close(): Promise<void> {
    this.files.close();
    await this.checkpointer.end();
  }
}

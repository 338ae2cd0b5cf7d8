import { setTimeout as sleep } from "node:timers/promises";
import type { PostgresCheckpointer } from "@agentstate/checkpointer";
import { markIdempotent, runOnce } from "@agentstate/recovery";
import { tool } from "@langchain/core/tools";
import { z } from "zod";
import { recordEffect } from "./effects.js";

export interface ToolOptions {
  /** The checkpointer the agent runs on, looked up when a tool runs (the CLI attaches its own). */
  checkpointer: () => PostgresCheckpointer | undefined;
  /** Side-effect counter file (see effects.ts). */
  effectsFile?: string;
  /** Make this tool call slow (ms), e.g. to be killed in the middle of it. */
  slowCall?: { callId: string; ms: number };
}

interface ToolConfig {
  toolCall?: { id?: string };
  configurable?: { thread_id?: string };
}

/**
 * A stand-in for a web search: canned results, no network. Reading is harmless to repeat, so it
 * is marked idempotent: a call in flight at a crash is simply run again by recovery.
 */
export function webSearchTool(options: ToolOptions) {
  return markIdempotent(
    tool(
      async ({ query }: { query: string }, config: ToolConfig) => {
        const callId = config.toolCall?.id ?? "unknown";
        recordEffect(options.effectsFile, { tool: "web_search", callId, phase: "started" });
        const results = [
          `${query}: checkpoints persist every step`,
          `${query}: leases and fences prevent double runs`,
        ];
        recordEffect(options.effectsFile, { tool: "web_search", callId, phase: "done" });
        return results.join("\n");
      },
      {
        name: "web_search",
        description: "Search the web (stand-in with canned results).",
        schema: z.object({ query: z.string() }),
      },
    ),
  );
}

/**
 * "Analysis" with a side effect that must happen once per tool call: it goes through a receipt
 * stored in Postgres (runOnce). Recovery may re-run the call (it is marked idempotent); the
 * receipt then replays the stored result instead of repeating the effect, and if the crash
 * happened during the effect the effect is run again exactly because it never completed.
 */
export function analyzeTool(options: ToolOptions) {
  return markIdempotent(
    tool(
      async ({ topic }: { topic: string }, config: ToolConfig) => {
        const callId = config.toolCall?.id ?? "unknown";
        const threadId = config.configurable?.thread_id;
        const saver = options.checkpointer();
        const effect = async () => {
          recordEffect(options.effectsFile, { tool: "analyze", callId, phase: "started" });
          if (options.slowCall?.callId === callId) await sleep(options.slowCall.ms);
          recordEffect(options.effectsFile, { tool: "analyze", callId, phase: "done" });
          return `analysis of ${topic}: crashes are survivable when every step is checkpointed`;
        };
        if (!saver || !threadId) return effect();
        return runOnce(saver, { threadId: String(threadId), toolCallId: callId }, effect, {
          onUnknown: "rerun",
        });
      },
      {
        name: "analyze",
        description: "Analyse the findings so far on a topic.",
        schema: z.object({ topic: z.string() }),
      },
    ),
  );
}

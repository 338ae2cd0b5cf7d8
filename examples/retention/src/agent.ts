// The agent whose threads retention trims: a research assistant that searches, and asks a human
// before it files anything. Scripted model (no API key): each reply depends only on the messages
// in state, so a thread resumed after a prune (or in another process) continues correctly.

import { currentTurn, ScriptedChatModel } from "@agentstate/example-scripted-model";
import { markIdempotent } from "@agentstate/recovery";
import { AIMessage, type BaseMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { type BaseCheckpointSaver, interrupt } from "@langchain/langgraph";
import { createAgent } from "langchain";
import { z } from "zod";

const search = markIdempotent(
  tool(async ({ query }) => `3 results for "${query}"`, {
    name: "search",
    description: "Searches the notes",
    schema: z.object({ query: z.string() }),
  }),
);

const askHuman = tool(async ({ question }) => String(interrupt({ question })), {
  name: "ask_human",
  description: "Asks a human",
  schema: z.object({ question: z.string() }),
});

/**
 * Any request → search → answer; a request containing "file" asks a human first
 * (search → ask_human → answer). Tool call ids count the human messages, so they are stable.
 */
function script(messages: BaseMessage[]): AIMessage {
  const turn = messages.filter((m) => m.getType() === "human").length;
  const request = String(messages.findLast((m) => m.getType() === "human")?.content ?? "");
  const results = currentTurn(messages)
    .filter((m) => m.getType() === "tool")
    .map((m) => String(m.content));
  const call = (name: string, args: Record<string, unknown>) =>
    new AIMessage({ content: "", tool_calls: [{ id: `${name}-${turn}`, name, args }] });

  if (results.length === 0) return call("search", { query: request });
  if (/\bfile\b/i.test(request) && results.length === 1) {
    return call("ask_human", { question: `File "${request}"?` });
  }
  return new AIMessage(`Turn ${turn}: ${results.join("; ")}.`);
}

export function buildAgent(checkpointer?: BaseCheckpointSaver) {
  return createAgent({
    model: new ScriptedChatModel(script),
    tools: [search, askHuman],
    systemPrompt: "You are a research assistant.",
    ...(checkpointer ? { checkpointer } : {}),
  });
}

/** What langgraph.json would name, for `agentstate` commands that need the graph. */
export const graph = buildAgent();

// The agent the cron job recovers. `langgraph.json` points at `graph`; the `agentstate` CLI
// imports it and attaches its own checkpointer (`graph.checkpointer = saver`), so this module
// holds no database configuration: the same file serves the app, the CLI and LangGraph's server.

import { currentTurn, ScriptedChatModel } from "@agentstate/example-scripted-model";
import { markIdempotent } from "@agentstate/recovery";
import { AIMessage, type BaseMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import type { BaseCheckpointSaver } from "@langchain/langgraph";
import { createAgent } from "langchain";
import { z } from "zod";

/** How long each tool works (a real one would call an API). Long enough to be killed in. */
const TOOL_MS = Number(process.env.AGENT_TOOL_MS ?? 1000);
const work = () => new Promise((r) => setTimeout(r, TOOL_MS));

/** Read-only: running it twice is harmless, so a call in flight at a crash is simply re-run. */
const fetchPrices = markIdempotent(
  tool(
    async ({ sku }) => {
      await work();
      return JSON.stringify({ sku, price: 42, currency: "EUR" });
    },
    {
      name: "fetch_prices",
      description: "Fetches today's price of a SKU",
      schema: z.object({ sku: z.string() }),
    },
  ),
);

/**
 * A side effect (an email). Not marked idempotent: if a crash lands while it runs, nobody knows
 * whether the mail went out, so recovery marks the thread dead with `needs_review` instead of
 * sending it twice (the default `inFlightTools: "review"`), and the cron job exits 3.
 */
const sendReport = tool(
  async ({ to, body }) => {
    await work();
    return `sent to ${to}: ${body}`;
  },
  {
    name: "send_report",
    description: "Emails a report",
    schema: z.object({ to: z.string(), body: z.string() }),
  },
);

/** fetch_prices → send_report → a final answer, decided from the ToolMessages of this request. */
function script(messages: BaseMessage[]): AIMessage {
  const turn = messages.filter((m) => m.getType() === "human").length;
  const answered = currentTurn(messages).filter((m) => m.getType() === "tool");
  if (answered.length === 0) {
    return new AIMessage({
      content: "",
      tool_calls: [{ id: `fetch-${turn}`, name: "fetch_prices", args: { sku: "sku-42" } }],
    });
  }
  if (answered.length === 1) {
    const body = `price report: ${String(answered[0]?.content)}`;
    return new AIMessage({
      content: "",
      tool_calls: [
        { id: `send-${turn}`, name: "send_report", args: { to: "ops@example.com", body } },
      ],
    });
  }
  // After a forced recovery the email's answer may be recovery's "outcome unknown" error.
  const sent = answered[1] as { status?: string } | undefined;
  return new AIMessage(
    sent?.status === "error"
      ? "I could not confirm that the price report went out: check the outbox before resending."
      : "The price report was sent to ops@example.com.",
  );
}

export function buildAgent(options: { checkpointer?: BaseCheckpointSaver } = {}) {
  return createAgent({
    model: new ScriptedChatModel(script),
    tools: [fetchPrices, sendReport],
    systemPrompt: "You send the daily price report.",
    ...options,
  });
}

/** What langgraph.json names ("./src/agent.ts:graph"). */
export const graph = buildAgent();

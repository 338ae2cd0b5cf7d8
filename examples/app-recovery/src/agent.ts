// A support agent: looks orders up, and refunds them only after a human approves (interrupt()).
// The model is scripted (no API key): its reply depends only on the messages in state, so a run
// resumed by another process after a crash continues exactly where the first one stopped.

import { currentTurn, ScriptedChatModel } from "@agentstate/example-scripted-model";
import { markIdempotent } from "@agentstate/recovery";
import { AIMessage, type BaseMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { type BaseCheckpointSaver, interrupt } from "@langchain/langgraph";
import { createAgent } from "langchain";
import { z } from "zod";

export interface SupportAgentOptions {
  checkpointer?: BaseCheckpointSaver;
  /** How long an order lookup takes (a real one calls the shop's API). @default 200 */
  lookupMs?: number;
}

/** What the human is asked, as the interrupt's value (the app shows it in GET …/status). */
export interface ApprovalRequest {
  question: string;
  orderId: string;
  amount: number;
}

export function buildSupportAgent(options: SupportAgentOptions = {}) {
  const { checkpointer, lookupMs = 200 } = options;

  // Read-only: a call in flight at a crash is simply run again by recovery.
  const lookupOrder = markIdempotent(
    tool(
      async ({ orderId }) => {
        await new Promise((r) => setTimeout(r, lookupMs));
        return JSON.stringify({ orderId, amount: 30, status: "delivered" });
      },
      {
        name: "lookup_order",
        description: "Looks an order up",
        schema: z.object({ orderId: z.string() }),
      },
    ),
  );

  // Pauses the run until a human answers: the thread is then `waiting`, which recovery never
  // resumes on its own. On resume the tool runs again and interrupt() returns the answer.
  const askHuman = markIdempotent(
    tool(async (request: ApprovalRequest) => String(interrupt(request)), {
      name: "ask_human",
      description: "Asks a human to approve something",
      schema: z.object({ question: z.string(), orderId: z.string(), amount: z.number() }),
    }),
  );

  // The side effect; not idempotent, so a crash while it runs is left for a human to review.
  const issueRefund = tool(
    async ({ orderId, amount }) => `refund of ${amount} EUR for ${orderId}`,
    {
      name: "issue_refund",
      description: "Refunds an order",
      schema: z.object({ orderId: z.string(), amount: z.number() }),
    },
  );

  return createAgent({
    model: new ScriptedChatModel(script),
    tools: [lookupOrder, askHuman, issueRefund],
    systemPrompt: "You answer questions about orders and refund them after approval.",
    ...(checkpointer ? { checkpointer } : {}),
  });
}

/**
 * "Where is order 7?" → lookup_order → answer.
 * "Refund order 42" → lookup_order → ask_human → (approved) issue_refund → answer.
 */
function script(messages: BaseMessage[]): AIMessage {
  const turn = messages.filter((m) => m.getType() === "human").length;
  const request = String(messages.findLast((m) => m.getType() === "human")?.content ?? "");
  const orderId = /order\s+#?(\w+)/i.exec(request)?.[1] ?? "42";
  const results = currentTurn(messages)
    .filter((m) => m.getType() === "tool")
    .map((m) => String(m.content));
  const call = (name: string, args: Record<string, unknown>) =>
    new AIMessage({ content: "", tool_calls: [{ id: `${name}-${turn}`, name, args }] });

  if (results.length === 0) return call("lookup_order", { orderId });
  const order = JSON.parse(results[0]!) as { amount: number; status: string };
  if (!/refund/i.test(request)) return new AIMessage(`Order ${orderId} is ${order.status}.`);
  if (results.length === 1) {
    const question = `Refund ${order.amount} EUR for order ${orderId}?`;
    return call("ask_human", { question, orderId, amount: order.amount });
  }
  if (results.length === 2) {
    if (!/^(y|yes|approved?|ok)\b/i.test(results[1]!.trim())) {
      return new AIMessage(`Order ${orderId} was not refunded: the reviewer said "${results[1]}".`);
    }
    return call("issue_refund", { orderId, amount: order.amount });
  }
  return new AIMessage(`Done: ${results[2]}.`);
}

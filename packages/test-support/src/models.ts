// Scripted chat models for tests: the examples' no-API model (@agentstate/example-scripted-model)
// plus what tests inspect (how often it was called, what it was sent), a strict mode that rejects
// unanswered tool calls as hosted providers do, and two ways to write a script.
import {
  ScriptedChatModel as ExampleScriptedChatModel,
  type Script,
} from "@agentstate/example-scripted-model";
import { AIMessage, type BaseMessage } from "@langchain/core/messages";
import type { ChatResult } from "@langchain/core/outputs";

export { currentTurn, type Script } from "@agentstate/example-scripted-model";

/** The examples' scripted model, recording its calls for the tests. */
export class ScriptedChatModel extends ExampleScriptedChatModel {
  /** Model calls made by this instance (the tests count them). */
  calls = 0;
  /** The conversation each call was sent, in call order. */
  readonly conversations: BaseMessage[][] = [];

  /**
   * `strict` rejects a conversation in which a tool call has no answer before the next turn,
   * as the hosted providers do: that is the failure orphan patching prevents.
   */
  constructor(
    script: Script,
    private readonly strict = false,
  ) {
    super(script);
  }

  override async _generate(messages: BaseMessage[]): Promise<ChatResult> {
    this.calls += 1;
    this.conversations.push(messages);
    if (this.strict) assertToolCallsAnswered(messages);
    return super._generate(messages);
  }
}

/**
 * Script by turn: the n-th model call (counted from AI messages already in the conversation) gets
 * replies[n]. Deterministic from the conversation, so a run resumed in another process agrees.
 */
export function byTurn(replies: AIMessage[]): Script {
  return (messages) => {
    const turn = messages.filter((m) => AIMessage.isInstance(m)).length;
    return replies[Math.min(turn, replies.length - 1)] ?? new AIMessage("done");
  };
}

export interface ScriptedCall {
  name: string;
  args: Record<string, unknown>;
}

/** One model turn: tool calls to make (ids `call_1`, `call_2`, … are assigned), or final text. */
export type ScriptedTurn = { tools: ScriptedCall[] } | { text: string };

/**
 * Script by call: the n-th call to the script gets turns[n], whatever the conversation holds
 * (for a test that resumes a thread with a fresh model); throws once the turns run out.
 */
export function inOrder(turns: ScriptedTurn[]): Script {
  let next = 0;
  let ids = 0;
  return () => {
    const turn = turns[next++];
    if (!turn) throw new Error(`ScriptedChatModel: script exhausted after ${turns.length} turns`);
    if ("text" in turn) return new AIMessage(turn.text);
    return new AIMessage({
      content: "",
      tool_calls: turn.tools.map((call) => ({
        ...call,
        id: `call_${++ids}`,
        type: "tool_call" as const,
      })),
    });
  };
}

/** Throws like a provider would when an AIMessage's tool calls are not all answered in order. */
export function assertToolCallsAnswered(messages: BaseMessage[]): void {
  let open = new Set<string>();
  for (const m of messages) {
    const answer = (m as { tool_call_id?: string }).tool_call_id;
    if (typeof answer === "string") {
      open.delete(answer);
      continue;
    }
    if (open.size > 0) {
      throw new Error(
        `400 invalid_request: tool_calls without a response: ${[...open].join(", ")}`,
      );
    }
    open = new Set(
      ((m as { tool_calls?: Array<{ id?: string }> }).tool_calls ?? []).map((c) => c.id ?? ""),
    );
  }
  if (open.size > 0) {
    throw new Error(`400 invalid_request: tool_calls without a response: ${[...open].join(", ")}`);
  }
}

import { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { AIMessage, type BaseMessage } from "@langchain/core/messages";
import type { ChatResult } from "@langchain/core/outputs";

export interface ScriptedCall {
  name: string;
  args: Record<string, unknown>;
}

/** One model turn: tool calls to make, or final text. */
export type ScriptedTurn = { tools: ScriptedCall[] } | { text: string };

/**
 * A chat model that plays a fixed script instead of calling an API: each invocation returns the
 * next turn. It records what it was sent, so a test can inspect the tool results the agent fed
 * back. No network, no key.
 */
export class ScriptedChatModel extends BaseChatModel {
  readonly calls: BaseMessage[][] = [];
  #turn = 0;
  #ids = 0;

  constructor(private readonly script: ScriptedTurn[]) {
    super({});
  }

  _llmType(): string {
    return "scripted";
  }

  // Tools are already described by the script; binding them changes nothing.
  override bindTools(): this {
    return this;
  }

  async _generate(messages: BaseMessage[]): Promise<ChatResult> {
    this.calls.push(messages);
    const turn = this.script[this.#turn++];
    if (!turn)
      throw new Error(`ScriptedChatModel: script exhausted after ${this.script.length} turns`);
    const message =
      "text" in turn
        ? new AIMessage(turn.text)
        : new AIMessage({
            content: "",
            tool_calls: turn.tools.map((call) => ({
              ...call,
              id: `call_${++this.#ids}`,
              type: "tool_call" as const,
            })),
          });
    return {
      generations: [{ text: typeof message.content === "string" ? message.content : "", message }],
    };
  }
}

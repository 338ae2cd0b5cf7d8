import {
  BaseChatModel,
  type BaseChatModelCallOptions,
} from "@langchain/core/language_models/chat_models";
import type { AIMessage, BaseMessage } from "@langchain/core/messages";
import type { ChatResult } from "@langchain/core/outputs";

/** Decides the model's next reply from the conversation so far (it may take its time: async). */
export type Script = (messages: BaseMessage[]) => AIMessage | Promise<AIMessage>;

/**
 * A chat model without an API key. Its reply is a pure function of the messages in state (never
 * an in-memory counter), so a run resumed in another process, after a crash, continues exactly
 * where the first process stopped.
 */
export class ScriptedChatModel extends BaseChatModel<BaseChatModelCallOptions> {
  constructor(private readonly script: Script) {
    super({});
  }

  _llmType(): string {
    return "scripted";
  }

  // createAgent binds the tools; the script already knows them.
  override bindTools(): this {
    return this;
  }

  async _generate(messages: BaseMessage[]): Promise<ChatResult> {
    const message = await this.script(messages);
    return {
      generations: [{ message, text: typeof message.content === "string" ? message.content : "" }],
    };
  }
}

/** The messages after the last human message: the work of the current request. */
export function currentTurn(messages: BaseMessage[]): BaseMessage[] {
  const lastHuman = messages.findLastIndex((m) => m.getType() === "human");
  return messages.slice(lastHuman + 1);
}

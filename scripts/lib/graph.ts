import {
  AIMessage,
  type BaseMessage,
  HumanMessage,
  isAIMessage,
  ToolMessage,
} from "@langchain/core/messages";
import type { BaseCheckpointSaver } from "@langchain/langgraph";
import {
  Annotation,
  DeltaChannel,
  END,
  type Messages,
  messagesDeltaReducer,
  messagesStateReducer,
  START,
  StateGraph,
} from "@langchain/langgraph";

/** Plain: the ordinary messages reducer (full list in every blob). Delta: DeltaChannel. */
export type MessagesMode = "plain" | "delta";

const PlainState = Annotation.Root({
  messages: Annotation<BaseMessage[], Messages>({
    reducer: messagesStateReducer,
    default: () => [],
  }),
});

// A channel instance in the spec is used as is; this is how Annotation takes a DeltaChannel.
const DeltaState = Annotation.Root({
  messages: new DeltaChannel(messagesDeltaReducer) as unknown as typeof PlainState.spec.messages,
});

/** Tool-call rounds since the last human message. */
function roundsThisTurn(messages: readonly BaseMessage[]): number {
  let rounds = 0;
  for (let i = messages.length - 1; i >= 0; i -= 1) {
    const m = messages[i]!;
    if (HumanMessage.isInstance(m)) break;
    if (ToolMessage.isInstance(m)) rounds += 1;
  }
  return rounds;
}

/**
 * The agent loop of a tool-calling agent with a scripted model: `model` emits an AIMessage with
 * one tool call, `tools` answers it with a ToolMessage, `rounds` times; 2 × rounds supersteps,
 * each adding one message. Message ids are per-thread counters, so runs are deterministic.
 */
export function toolLoopGraph(options: {
  rounds: number;
  mode: MessagesMode;
  checkpointer: BaseCheckpointSaver;
}) {
  const { rounds, mode, checkpointer } = options;
  const State = mode === "delta" ? DeltaState : PlainState;

  const model = (state: typeof PlainState.State) => {
    const n = state.messages.length;
    return {
      messages: [
        new AIMessage({
          id: `ai-${n}`,
          content: `Step ${n}: to answer I need the record for item ${n}, so I will look it up.`,
          tool_calls: [
            { id: `call-${n}`, name: "lookup", args: { item: n, fields: ["name", "price"] } },
          ],
        }),
      ],
    };
  };

  const tools = (state: typeof PlainState.State) => {
    const last = state.messages.at(-1);
    const calls = last && isAIMessage(last) ? (last.tool_calls ?? []) : [];
    return {
      messages: calls.map(
        (call, i) =>
          new ToolMessage({
            id: `tool-${state.messages.length + i}`,
            name: call.name,
            tool_call_id: call.id ?? "",
            content: JSON.stringify({
              item: call.args.item,
              name: `Item ${call.args.item}`,
              price: 9.99,
            }),
          }),
      ),
    };
  };

  return new StateGraph(State)
    .addNode("model", model)
    .addNode("tools", tools)
    .addEdge(START, "model")
    .addEdge("model", "tools")
    .addConditionalEdges(
      "tools",
      (state) => (roundsThisTurn(state.messages) >= rounds ? END : "model"),
      ["model", END],
    )
    .compile({ checkpointer });
}

export type ToolLoopGraph = ReturnType<typeof toolLoopGraph>;

/** Runs one turn (a human message, then 2 × rounds steps) on a thread. */
export async function runTurn(graph: ToolLoopGraph, threadId: string, rounds: number) {
  return graph.invoke(
    { messages: [new HumanMessage({ id: "human-0", content: "What do items cost?" })] },
    { configurable: { thread_id: threadId }, recursionLimit: 2 * rounds + 10 },
  );
}

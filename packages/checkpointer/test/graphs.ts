import { AIMessage, type BaseMessage, HumanMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import {
  Annotation,
  type BaseCheckpointSaver,
  DeltaChannel,
  END,
  interrupt,
  MessagesAnnotation,
  messagesDeltaReducer,
  START,
  StateGraph,
} from "@langchain/langgraph";
import { ToolNode } from "@langchain/langgraph/prebuilt";
import { z } from "zod";

/** Side effects observed by tests: how often the tool really ran. */
export const toolRuns = { count: 0 };

const add = tool(
  async ({ a, b }: { a: number; b: number }) => {
    toolRuns.count += 1;
    return String(a + b);
  },
  {
    name: "add",
    description: "adds two numbers",
    schema: z.object({ a: z.number(), b: z.number() }),
  },
);

/** A scripted "model": asks for `rounds` tool calls, then answers. Deterministic ids. */
function scriptedAgent(rounds: number) {
  return async (state: { messages: BaseMessage[] }) => {
    const done = state.messages.filter((m) => m.getType() === "tool").length;
    if (done < rounds) {
      return {
        messages: [
          new AIMessage({
            content: `step ${done}`,
            id: `ai-${done}`,
            tool_calls: [{ id: `call-${done}`, name: "add", args: { a: done, b: 1 } }],
          }),
        ],
      };
    }
    return { messages: [new AIMessage({ content: "finished", id: "ai-final" })] };
  };
}

const routeTo =
  (whenDone: string) =>
  (state: { messages: BaseMessage[] }): string => {
    const last = state.messages.at(-1) as AIMessage | undefined;
    return last?.tool_calls?.length ? "tools" : whenDone;
  };

/** agent ⇄ tools loop (2 supersteps per round), a real ToolNode and the ordinary messages reducer. */
export function toolLoopGraph(checkpointer: BaseCheckpointSaver, rounds = 3) {
  return new StateGraph(MessagesAnnotation)
    .addNode("agent", scriptedAgent(rounds))
    .addNode("tools", new ToolNode([add]))
    .addEdge(START, "agent")
    .addConditionalEdges("agent", routeTo(END), ["tools", END])
    .addEdge("tools", "agent")
    .compile({ checkpointer });
}

/** Two tool rounds, then a human approval via interrupt(), then the rest. */
export function approvalGraph(checkpointer: BaseCheckpointSaver) {
  return new StateGraph(MessagesAnnotation)
    .addNode("agent", scriptedAgent(2))
    .addNode("tools", new ToolNode([add]))
    .addNode("approve", async () => {
      const answer = interrupt({ question: "ship it?" }) as string;
      return { messages: [new HumanMessage({ content: `approved: ${answer}`, id: "approval" })] };
    })
    .addEdge(START, "agent")
    .addConditionalEdges("agent", routeTo("approve"), ["tools", "approve"])
    .addEdge("tools", "agent")
    .addEdge("approve", END)
    .compile({ checkpointer });
}

/** Messages in a DeltaChannel: each checkpoint stores only the step's new messages. */
export function deltaMessagesGraph(checkpointer: BaseCheckpointSaver, snapshotFrequency = 50) {
  const State = Annotation.Root({
    messages: () =>
      new DeltaChannel<BaseMessage[], BaseMessage[]>(messagesDeltaReducer as never, {
        snapshotFrequency,
      }),
    turn: Annotation<number>({ reducer: (_a, b) => b, default: () => 0 }),
  });
  return new StateGraph(State)
    .addNode("speak", async (s: { turn: number }) => ({
      messages: [new AIMessage({ content: `message ${s.turn}`, id: `m-${s.turn}` })],
      turn: s.turn + 1,
    }))
    .addEdge(START, "speak")
    .addEdge("speak", END)
    .compile({ checkpointer });
}

/**
 * A `step` node looping on itself, each step adding one message to a DeltaChannel, until
 * `stop(n)` holds for the step count (the history tests' thread shape).
 */
export function deltaStepGraph(
  checkpointer: BaseCheckpointSaver,
  options: { snapshotFrequency: number; stop: (n: number) => boolean; padding?: number },
) {
  const State = Annotation.Root({
    messages: () =>
      new DeltaChannel<BaseMessage[], BaseMessage[]>(messagesDeltaReducer as never, {
        snapshotFrequency: options.snapshotFrequency,
      }),
    n: Annotation<number>({ reducer: (_a, b) => b, default: () => 0 }),
  });
  const pad = options.padding ? ` ${"x".repeat(options.padding)}` : "";
  return new StateGraph(State)
    .addNode("step", (s: { n: number }) => ({
      messages: [new AIMessage({ id: `m-${s.n}`, content: `step ${s.n}${pad}` })],
      n: s.n + 1,
    }))
    .addEdge(START, "step")
    .addConditionalEdges("step", (s: { n: number }) => (options.stop(s.n) ? END : "step"), [
      "step",
      END,
    ])
    .compile({ checkpointer });
}

export const userSays = (text: string) => ({
  messages: [new HumanMessage({ content: text, id: `h-${text}` })],
});

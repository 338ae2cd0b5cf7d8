// A multi-turn tool agent with a `files` channel, the shape deepagents gives a thread: each turn a
// human message, a model turn that calls write_file through a real ToolNode, the tool result
// (which also updates `files`), and a final answer. One invoke per turn, as a chat app does.
import {
  AIMessage,
  type BaseMessage,
  HumanMessage,
  isAIMessage,
  ToolMessage,
} from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import type { BaseCheckpointSaver } from "@langchain/langgraph";
import {
  Annotation,
  Command,
  END,
  type Messages,
  messagesStateReducer,
  START,
  StateGraph,
} from "@langchain/langgraph";
import { ToolNode } from "@langchain/langgraph/prebuilt";

/** deepagents' file record: content as lines, ISO timestamps. */
export interface FileData {
  content: string[];
  created_at: string;
  modified_at: string;
}

const AgentState = Annotation.Root({
  messages: Annotation<BaseMessage[], Messages>({
    reducer: messagesStateReducer,
    default: () => [],
  }),
  files: Annotation<Record<string, FileData>>({
    reducer: (a, b) => ({ ...a, ...b }),
    default: () => ({}),
  }),
});
type S = typeof AgentState.State;

/** Files the agent rewrites once it has written this many: later turns edit earlier files. */
const DISTINCT_FILES = 25;

const note = (turn: number) =>
  Array.from(
    { length: 8 },
    (_, i) => `- turn ${turn}, line ${i}: findings about item ${turn * 8 + i} and what to do next`,
  );

const writeFile = tool(
  async ({ path, lines }: { path: string; lines: string[] }, config) => {
    const at = new Date(Date.UTC(2025, 0, 1) + lines.length * 1000).toISOString();
    const id = (config as { toolCall?: { id?: string } }).toolCall?.id ?? "";
    return new Command({
      update: {
        files: { [path]: { content: lines, created_at: at, modified_at: at } },
        messages: [new ToolMessage({ content: `Updated file ${path}`, tool_call_id: id })],
      },
    });
  },
  {
    name: "write_file",
    description: "write a file",
    schema: {
      type: "object",
      properties: { path: { type: "string" }, lines: { type: "array", items: { type: "string" } } },
      required: ["path", "lines"],
    },
  },
);

/** model ⇄ tools, then END after the final answer. Deterministic ids for the model's messages. */
export function agentGraph(checkpointer: BaseCheckpointSaver) {
  const model = (s: S) => {
    const turn = s.messages.filter((m) => HumanMessage.isInstance(m)).length;
    const last = s.messages.at(-1);
    if (last && ToolMessage.isInstance(last)) {
      return {
        messages: [
          new AIMessage({
            id: `final-${turn}`,
            content: `Turn ${turn}: I wrote the notes to the file; the key point is item ${turn * 8}.`,
          }),
        ],
      };
    }
    const path = `/notes/topic-${turn % DISTINCT_FILES}.md`;
    return {
      messages: [
        new AIMessage({
          id: `call-msg-${turn}`,
          content: `I will record what I found in ${path} before answering.`,
          tool_calls: [
            { id: `call-${turn}`, name: "write_file", args: { path, lines: note(turn) } },
          ],
        }),
      ],
    };
  };
  return new StateGraph(AgentState)
    .addNode("model", model)
    .addNode("tools", new ToolNode([writeFile]))
    .addEdge(START, "model")
    .addConditionalEdges(
      "model",
      (s: S) => {
        const last = s.messages.at(-1);
        return last && isAIMessage(last) && last.tool_calls?.length ? "tools" : END;
      },
      ["tools", END],
    )
    .addEdge("tools", "model")
    .compile({ checkpointer });
}

/** `turns` user turns on one thread, one invoke each (4 supersteps per turn). */
export async function runTurns(
  graph: ReturnType<typeof agentGraph>,
  threadId: string,
  turns: number,
): Promise<S> {
  let state: S | undefined;
  for (let t = 0; t < turns; t += 1) {
    state = (await graph.invoke(
      { messages: [new HumanMessage({ id: `human-${t}`, content: `Question ${t}: what next?` })] },
      { configurable: { thread_id: threadId } },
    )) as S;
  }
  return state as S;
}

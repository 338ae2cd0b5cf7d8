// Custom reducers, Overwrite, the messages reducer (update by id, RemoveMessage, remove all),
// untracked and ephemeral channels.
import { AIMessage, HumanMessage, RemoveMessage } from "@langchain/core/messages";
import {
  Annotation,
  type BaseCheckpointSaver,
  END,
  MessagesAnnotation,
  Overwrite,
  REMOVE_ALL_MESSAGES,
  START,
  StateGraph,
  UntrackedValueChannel,
} from "@langchain/langgraph";
import type { Scenario } from "../scenario.js";

const Sums = Annotation.Root({
  total: Annotation<number>({ reducer: (a, b) => a + b, default: () => 0 }),
  tags: Annotation<Record<string, number>>({
    reducer: (a, b) => {
      const out = { ...a };
      for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v;
      return out;
    },
    default: () => ({}),
  }),
  scratch: Annotation<string>({ reducer: (_a, b) => b, default: () => "" }),
});
type S = typeof Sums.State;

/** Two parallel adders and a joiner; `reset` returns an Overwrite that bypasses the reducer. */
const sums = (checkpointer: BaseCheckpointSaver) =>
  new StateGraph(Sums)
    .addNode("x", () => ({ total: 1, tags: { x: 1 } }))
    .addNode("y", () => ({ total: 10, tags: { y: 1, x: 2 } }))
    .addNode("join", (s: S) => ({ scratch: `total ${s.total}` }))
    .addEdge(START, "x")
    .addEdge(START, "y")
    .addEdge(["x", "y"], "join")
    .addEdge("join", END)
    .compile({ checkpointer });

const resetting = (checkpointer: BaseCheckpointSaver) =>
  new StateGraph(Sums)
    .addNode("add", () => ({ total: 5 }))
    .addNode("reset", () => ({ total: new Overwrite(100) as never }))
    .addEdge(START, "add")
    .addEdge("add", "reset")
    .addEdge("reset", END)
    .compile({ checkpointer });

/** The messages reducer: append, replace by id, remove one, remove all. */
const chat = (checkpointer: BaseCheckpointSaver) =>
  new StateGraph(MessagesAnnotation)
    .addNode("reply", (s: typeof MessagesAnnotation.State) => ({
      messages: [
        new AIMessage({ id: `ai-${s.messages.length}`, content: `reply to ${s.messages.length}` }),
      ],
    }))
    .addEdge(START, "reply")
    .addEdge("reply", END)
    .compile({ checkpointer });

const Untracked = Annotation.Root({
  kept: Annotation<string[]>({ reducer: (a, b) => [...a, ...b], default: () => [] }),
  secret: Annotation<string>({ value: () => new UntrackedValueChannel<string>() } as never),
});

const untracked = (checkpointer: BaseCheckpointSaver) =>
  new StateGraph(Untracked)
    .addNode("one", () => ({ kept: ["one"], secret: "not stored" }))
    .addNode("two", (s: typeof Untracked.State) => ({ kept: [`two saw ${s.secret ?? "nothing"}`] }))
    .addEdge(START, "one")
    .addEdge("one", "two")
    .addEdge("two", END)
    .compile({ checkpointer });

export const reducers: Scenario[] = [
  {
    name: "custom reducers from parallel writers",
    family: "reducers",
    build: sums,
    script: [
      { op: "invoke", input: { total: 3 } },
      { op: "invoke", input: { tags: { z: 5 } } },
    ],
  },
  {
    name: "Overwrite bypasses the reducer",
    family: "reducers",
    build: resetting,
    script: [
      { op: "stream", input: { total: 1 }, mode: ["values", "updates"] },
      { op: "update", values: () => ({ total: new Overwrite(7) }) },
      { op: "state" },
    ],
  },
  {
    name: "messages: append, replace by id, remove, remove all",
    family: "reducers",
    build: chat,
    script: [
      {
        op: "invoke",
        input: () => ({ messages: [new HumanMessage({ id: "h1", content: "hi" })] }),
      },
      {
        op: "invoke",
        input: () => ({ messages: [new HumanMessage({ id: "h1", content: "hi, edited" })] }),
      },
      { op: "update", values: () => ({ messages: [new RemoveMessage({ id: "ai-1" })] }) },
      {
        op: "invoke",
        input: () => ({ messages: [{ role: "user", content: "plain object", id: "h2" }] }),
      },
      {
        op: "update",
        values: () => ({ messages: [new RemoveMessage({ id: REMOVE_ALL_MESSAGES })] }),
      },
      { op: "state" },
      {
        op: "invoke",
        input: () => ({ messages: [new HumanMessage({ id: "h3", content: "again" })] }),
      },
    ],
  },
  {
    name: "messages without ids get generated ids",
    family: "reducers",
    build: chat,
    script: [
      { op: "invoke", input: () => ({ messages: [new HumanMessage("no id")] }) },
      { op: "invoke", input: () => ({ messages: [{ role: "user", content: "no id either" }] }) },
    ],
  },
  {
    name: "untracked channel is never stored",
    family: "reducers",
    build: untracked,
    script: [{ op: "stream", input: { kept: [] }, mode: ["values", "debug"] }, { op: "state" }],
  },
];

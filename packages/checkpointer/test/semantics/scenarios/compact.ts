// Scenarios aimed at compact storage (values that grow, shrink, get edited, fork), run by
// compact.test.ts against MemorySaver on compact savers only; the shared suite stays as it is.
import {
  AIMessage,
  type BaseMessage,
  HumanMessage,
  RemoveMessage,
  ToolMessage,
} from "@langchain/core/messages";
import {
  Annotation,
  type BaseCheckpointSaver,
  DeltaChannel,
  END,
  interrupt,
  MessagesAnnotation,
  messagesDeltaReducer,
  REMOVE_ALL_MESSAGES,
  START,
  StateGraph,
} from "@langchain/langgraph";
import type { Scenario } from "../scenario.js";

type M = typeof MessagesAnnotation.State;

/** model → tools, `rounds` times: one message per step, the plain messages reducer. */
const agentLoop = (rounds: number) => (checkpointer: BaseCheckpointSaver) =>
  new StateGraph(MessagesAnnotation)
    .addNode("model", (s: M) => {
      const n = s.messages.length;
      return {
        messages: [
          new AIMessage({
            id: `ai-${n}`,
            content: `Step ${n}: looking up item ${n} — ünïcödé ✓ 🚀`,
            tool_calls: [{ id: `call-${n}`, name: "lookup", args: { item: n } }],
          }),
        ],
      };
    })
    .addNode("tools", (s: M) => {
      const n = s.messages.length;
      return {
        messages: [
          new ToolMessage({
            id: `tool-${n}`,
            tool_call_id: `call-${n - 1}`,
            content: `{"price":${n}}`,
          }),
        ],
      };
    })
    .addEdge(START, "model")
    .addEdge("model", "tools")
    .addConditionalEdges(
      "tools",
      (s: M) =>
        s.messages.filter((m) => ToolMessage.isInstance(m)).length % rounds === 0 ? END : "model",
      ["model", END],
    )
    .compile({ checkpointer });

const human = (id: string, content: string) => () => ({
  messages: [new HumanMessage({ id, content })],
});

/** Values that grow in other shapes: a string, an object gaining keys, a list inside an object. */
const Shapes = Annotation.Root({
  text: Annotation<string>({ reducer: (a, b) => a + b, default: () => "" }),
  obj: Annotation<Record<string, number>>({
    reducer: (a, b) => ({ ...a, ...b }),
    default: () => ({}),
  }),
  nested: Annotation<{ items: string[]; n: number }>({
    reducer: (a, b) => ({ items: [...a.items, ...b.items], n: a.n + b.n }),
    default: () => ({ items: [], n: 0 }),
  }),
  step: Annotation<number>({ reducer: (_a, b) => b, default: () => 0 }),
});

const shapes = (checkpointer: BaseCheckpointSaver) =>
  new StateGraph(Shapes)
    .addNode("grow", (s: typeof Shapes.State) => ({
      text: `line ${s.step}: ${"x".repeat(40)}\n`,
      obj: { [`key-${s.step}`]: s.step },
      nested: { items: [`item ${s.step} ${"y".repeat(30)}`], n: 1 },
      step: s.step + 1,
    }))
    .addEdge(START, "grow")
    .addConditionalEdges("grow", (s: typeof Shapes.State) => (s.step < 40 ? "grow" : END), [
      "grow",
      END,
    ])
    .compile({ checkpointer });

const DeltaState = Annotation.Root({
  messages: () =>
    new DeltaChannel<BaseMessage[], BaseMessage[]>(messagesDeltaReducer as never, {
      snapshotFrequency: 3,
    }),
});

/** A DeltaChannel whose snapshots grow: compact stores each snapshot as an append to the last. */
const deltaChat = (checkpointer: BaseCheckpointSaver) =>
  new StateGraph(DeltaState)
    .addNode("reply", (s: typeof DeltaState.State) => ({
      messages: [
        new AIMessage({ id: `r-${s.messages.length}`, content: `reply ${"z".repeat(60)}` }),
      ],
    }))
    .addEdge(START, "reply")
    .addEdge("reply", END)
    .compile({ checkpointer });

/** Asks a human every round: resumes continue a chain the interrupt left. */
const asking = (checkpointer: BaseCheckpointSaver) =>
  new StateGraph(MessagesAnnotation)
    .addNode("ask", (s: M) => ({
      messages: [
        new HumanMessage({
          id: `h-${s.messages.length}`,
          content: interrupt(`q${s.messages.length}`) as string,
        }),
      ],
    }))
    .addNode("answer", (s: M) => ({
      messages: [
        new AIMessage({ id: `a-${s.messages.length}`, content: `answer ${"w".repeat(50)}` }),
      ],
    }))
    .addEdge(START, "ask")
    .addEdge("ask", "answer")
    .addEdge("answer", END)
    .compile({ checkpointer });

const turns = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    op: "invoke" as const,
    input: human(`u-${i}`, `turn ${i}`),
  }));

export const compactScenarios: Scenario[] = [
  {
    name: "a 120-step agent loop, then forks from the middle and near the start",
    family: "compact",
    build: agentLoop(60),
    script: [
      { op: "invoke", input: human("h-0", "go"), config: { recursionLimit: 200 } },
      { op: "history", limit: 5, before: 40 },
      { op: "update", at: 60, values: human("fork-1", "fork in the middle") },
      { op: "invoke", input: null, config: { recursionLimit: 200 } },
      { op: "update", at: 200, values: human("fork-2", "fork near the start") },
      { op: "state" },
    ],
  },
  {
    name: "edits: replace by id, remove in the middle, remove the last, remove all, grow again",
    family: "compact",
    build: agentLoop(3),
    script: [
      { op: "invoke", input: human("h-0", "go") },
      { op: "invoke", input: human("h-1", "again") },
      {
        op: "update",
        values: () => ({ messages: [new AIMessage({ id: "ai-1", content: "edited" })] }),
      },
      { op: "update", values: () => ({ messages: [new RemoveMessage({ id: "tool-4" })] }) },
      { op: "update", values: () => ({ messages: [new RemoveMessage({ id: "tool-13" })] }) },
      { op: "invoke", input: human("h-2", "more") },
      {
        op: "update",
        values: () => ({ messages: [new RemoveMessage({ id: REMOVE_ALL_MESSAGES })] }),
      },
      { op: "invoke", input: human("h-3", "from scratch") },
      { op: "history", limit: 30 },
    ],
  },
  {
    name: "a string, an object and a nested list growing for 40 steps",
    family: "compact",
    build: shapes,
    script: [
      { op: "invoke", input: { step: 0 }, config: { recursionLimit: 100 } },
      { op: "update", at: 20, values: { text: "!", obj: { key: -1 } } },
      { op: "invoke", input: null, config: { recursionLimit: 100 } },
    ],
  },
  {
    name: "DeltaChannel snapshots that grow (seeds stored compact)",
    family: "compact",
    build: deltaChat,
    script: [
      ...turns(20),
      { op: "history", limit: 10 },
      { op: "update", at: 10, values: human("f", "fork") },
    ],
  },
  {
    name: "interrupt and resume every round",
    family: "compact",
    build: asking,
    script: Array.from({ length: 15 }, (_, i) => [
      { op: "invoke" as const, input: human(`start-${i}`, `hi ${i}`) },
      { op: "command" as const, command: { resume: `reply ${i} ${"v".repeat(40)}` } },
    ]).flat(),
  },
];

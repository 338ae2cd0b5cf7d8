// A 1,000-step thread: the transcript keeps a digest (counts, the newest states) rather than
// every checkpoint, which the shorter scenarios already compare one by one.
import { Annotation, type BaseCheckpointSaver, END, START, StateGraph } from "@langchain/langgraph";
import type { Scenario } from "../scenario.js";

const Counter = Annotation.Root({
  n: Annotation<number>({ reducer: (_a, b) => b, default: () => 0 }),
  recent: Annotation<number[]>({ reducer: (a, b) => [...a, ...b].slice(-5), default: () => [] }),
});

const loop = (checkpointer: BaseCheckpointSaver) =>
  new StateGraph(Counter)
    .addNode("step", (s: typeof Counter.State) => ({ n: s.n + 1, recent: [s.n + 1] }))
    .addEdge(START, "step")
    .addConditionalEdges("step", (s: typeof Counter.State) => (s.n < 1000 ? "step" : END), [
      "step",
      END,
    ])
    .compile({ checkpointer });

export const long: Scenario[] = [
  {
    name: "1,000 steps in one run, then a fork near the start",
    family: "long",
    heavy: true,
    digestOnly: true,
    build: loop,
    script: [
      { op: "invoke", input: { n: 0 }, config: { recursionLimit: 1100 } },
      { op: "history", limit: 3, before: 500 },
      { op: "update", values: { n: 995 }, at: 998 },
      { op: "invoke", input: null },
    ],
  },
];

// Linear and branching graphs, every stream mode, several threads, history options.
import { type BaseCheckpointSaver, END, START, StateGraph } from "@langchain/langgraph";
import type { Scenario } from "../scenario.js";
import { type Log, LogState, mark } from "./kit.js";

const linear = (checkpointer: BaseCheckpointSaver) =>
  new StateGraph(LogState)
    .addNode("a", mark("a"))
    .addNode("b", mark("b"))
    .addNode("c", mark("c"))
    .addEdge(START, "a")
    .addEdge("a", "b")
    .addEdge("b", "c")
    .addEdge("c", END)
    .compile({ checkpointer });

/** a → (b, c in parallel) → d */
const diamond = (checkpointer: BaseCheckpointSaver) =>
  new StateGraph(LogState)
    .addNode("a", mark("a"))
    .addNode("b", mark("b"))
    .addNode("c", mark("c"))
    .addNode("d", mark("d"))
    .addEdge(START, "a")
    .addEdge("a", "b")
    .addEdge("a", "c")
    .addEdge(["b", "c"], "d")
    .addEdge("d", END)
    .compile({ checkpointer });

/** Routes on the input: small n → "low", otherwise "high". */
const router = (checkpointer: BaseCheckpointSaver) =>
  new StateGraph(LogState)
    .addNode("start", (s: Log) => ({ log: ["start"], n: s.n }))
    .addNode("low", mark("low"))
    .addNode("high", mark("high"))
    .addEdge(START, "start")
    .addConditionalEdges("start", (s: Log) => (s.n < 10 ? "low" : "high"), ["low", "high"])
    .addEdge("low", END)
    .addEdge("high", END)
    .compile({ checkpointer });

export const basic: Scenario[] = [
  {
    name: "linear invoke",
    family: "linear",
    build: linear,
    script: [{ op: "invoke", input: { n: 1 } }],
  },
  {
    name: "linear stream values",
    family: "linear",
    build: linear,
    script: [{ op: "stream", input: { n: 1 }, mode: "values" }],
  },
  {
    name: "linear stream updates",
    family: "linear",
    build: linear,
    script: [{ op: "stream", input: { n: 1 }, mode: "updates" }],
  },
  {
    name: "linear stream debug",
    family: "linear",
    build: linear,
    script: [{ op: "stream", input: { n: 1 }, mode: "debug" }],
  },
  {
    name: "linear stream values+updates+checkpoints+tasks",
    family: "linear",
    build: linear,
    script: [
      { op: "stream", input: { n: 1 }, mode: ["values", "updates", "checkpoints", "tasks"] },
    ],
  },
  {
    name: "linear, three runs on one thread",
    family: "linear",
    build: linear,
    script: [
      { op: "invoke", input: { n: 1 } },
      { op: "invoke", input: { log: ["again"] } },
      { op: "stream", input: { n: 7 }, mode: "updates" },
      { op: "state" },
    ],
  },
  {
    name: "two threads interleaved",
    family: "linear",
    build: linear,
    script: [
      { op: "invoke", input: { n: 1 }, thread: "x" },
      { op: "invoke", input: { n: 100 }, thread: "y" },
      { op: "invoke", input: { n: 2 }, thread: "x" },
      { op: "state", thread: "y" },
    ],
  },
  {
    name: "history with limit, before and filter",
    family: "linear",
    build: linear,
    script: [
      { op: "invoke", input: { n: 1 } },
      { op: "invoke", input: { n: 2 } },
      { op: "history", limit: 3 },
      { op: "history", before: 4, limit: 2 },
      { op: "history", filter: { source: "input" } },
      { op: "history", filter: { step: 2 } },
      { op: "state", at: 5 },
    ],
  },
  {
    name: "diamond fan-out/fan-in",
    family: "branching",
    build: diamond,
    script: [{ op: "stream", input: { n: 0 }, mode: ["updates", "debug"] }],
  },
  {
    name: "diamond twice",
    family: "branching",
    build: diamond,
    script: [
      { op: "invoke", input: { n: 0 } },
      { op: "invoke", input: { n: 5 } },
    ],
  },
  {
    name: "conditional edge, both routes",
    family: "branching",
    build: router,
    script: [
      { op: "invoke", input: { n: 1 }, thread: "low" },
      { op: "invoke", input: { n: 50 }, thread: "high" },
      { op: "stream", input: { n: 3 }, mode: "debug", thread: "high" },
    ],
  },
  {
    name: "empty update from a node",
    family: "linear",
    build: (checkpointer) =>
      new StateGraph(LogState)
        .addNode("noop", () => ({}))
        .addNode("b", mark("b"))
        .addEdge(START, "noop")
        .addEdge("noop", "b")
        .addEdge("b", END)
        .compile({ checkpointer }),
    script: [{ op: "stream", input: { n: 0 }, mode: ["updates", "values"] }],
  },
];

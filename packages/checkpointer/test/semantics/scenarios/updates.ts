// updateState (with and without asNode, __copy__, __input__, clearing with __end__) and forks
// from earlier checkpoints, continuing both branches and reading each branch's own values.
import { type BaseCheckpointSaver, END, START, StateGraph } from "@langchain/langgraph";
import type { Scenario } from "../scenario.js";
import { type Log, LogState, mark } from "./kit.js";

/** a → b → c, where each node also records the n it saw (forks must see their own n). */
const chain = (checkpointer: BaseCheckpointSaver, interruptBefore: string[] = []) => {
  const saw = (name: string) => (s: Log) => ({ log: [`${name}@${s.n}`], n: s.n + 1 });
  return new StateGraph(LogState)
    .addNode("a", saw("a"))
    .addNode("b", saw("b"))
    .addNode("c", saw("c"))
    .addEdge(START, "a")
    .addEdge("a", "b")
    .addEdge("b", "c")
    .addEdge("c", END)
    .compile({ checkpointer, interruptBefore: interruptBefore as never });
};

/** Parallel b, c after a, for updates as one of two parallel writers. */
const parallel = (checkpointer: BaseCheckpointSaver) =>
  new StateGraph(LogState)
    .addNode("a", mark("a"))
    .addNode("b", mark("b"))
    .addNode("c", mark("c"))
    .addEdge(START, "a")
    .addEdge("a", "b")
    .addEdge("a", "c")
    .addEdge("b", END)
    .addEdge("c", END)
    .compile({ checkpointer, interruptBefore: ["b", "c"] });

export const updates: Scenario[] = [
  {
    name: "updateState without asNode on a finished thread",
    family: "updateState",
    build: (c) => chain(c),
    script: [
      { op: "invoke", input: { n: 0 } },
      { op: "update", values: { n: 50, log: ["manual"] } },
      { op: "state" },
      { op: "invoke", input: null },
    ],
  },
  {
    name: "updateState as a node decides what runs next",
    family: "updateState",
    build: (c) => chain(c, ["b"]),
    script: [
      { op: "invoke", input: { n: 0 } },
      { op: "update", values: { log: ["as b"] }, asNode: "b" },
      { op: "state" },
      { op: "stream", input: null, mode: "updates" },
    ],
  },
  {
    name: "updateState as one of two parallel nodes",
    family: "updateState",
    build: parallel,
    script: [
      { op: "invoke", input: { n: 0 } },
      { op: "update", values: { log: ["as c"] }, asNode: "c" },
      { op: "state" },
      { op: "invoke", input: null },
    ],
  },
  {
    name: "updateState as __input__ and on an empty thread",
    family: "updateState",
    build: (c) => chain(c),
    script: [
      { op: "update", values: { n: 7 } },
      { op: "state" },
      { op: "update", values: { n: 9 }, asNode: "__input__" },
      { op: "invoke", input: null },
    ],
  },
  {
    name: "__copy__ of the head and of a past checkpoint",
    family: "updateState",
    build: (c) => chain(c),
    script: [
      { op: "invoke", input: { n: 0 } },
      { op: "update", values: undefined, asNode: "__copy__" },
      { op: "update", values: undefined, asNode: "__copy__", at: 3 },
      { op: "state" },
      { op: "invoke", input: null },
      { op: "history" },
    ],
  },
  {
    name: "__copy__ with updates as nodes",
    family: "updateState",
    build: (c) => chain(c, ["b"]),
    script: [
      { op: "invoke", input: { n: 0 } },
      { op: "update", values: [[{ log: ["copied as a"] }, "a"]], asNode: "__copy__" },
      { op: "state" },
      { op: "invoke", input: null },
    ],
  },
  {
    name: "clear pending work with asNode __end__",
    family: "updateState",
    build: (c) => chain(c, ["c"]),
    script: [
      { op: "invoke", input: { n: 0 } },
      { op: "update", values: null, asNode: "__end__" },
      { op: "state" },
      { op: "invoke", input: null },
    ],
  },
  {
    name: "fork from a past checkpoint reads its own values",
    family: "forks",
    build: (c) => chain(c),
    script: [
      { op: "invoke", input: { n: 0 } },
      // history: 0 after c, 1 after b, 2 after a, 3 before a, 4 input
      { op: "update", values: { n: 100 }, at: 2 },
      { op: "state" },
      { op: "invoke", input: null },
      { op: "state" },
    ],
  },
  {
    name: "fork, then continue both branches",
    family: "forks",
    build: (c) => chain(c, ["c"]),
    script: [
      { op: "invoke", input: { n: 0 } },
      { op: "update", values: { n: 10, log: ["fork"] }, at: 1 },
      { op: "invoke", input: null },
      // The original branch's head is now history index 2 (fork checkpoints are newer).
      { op: "invoke", input: null, at: 3 },
      { op: "history" },
    ],
  },
  {
    name: "replay from a past checkpoint without changes",
    family: "forks",
    build: (c) => chain(c),
    script: [
      { op: "invoke", input: { n: 0 } },
      { op: "stream", input: null, at: 2, mode: "updates" },
      { op: "state" },
    ],
  },
  {
    name: "two forks of one checkpoint, and a fork of a fork",
    family: "forks",
    build: (c) => chain(c),
    script: [
      { op: "invoke", input: { n: 0 } },
      { op: "update", values: { n: 20 }, at: 2 },
      { op: "invoke", input: null },
      { op: "update", values: { n: 30 }, at: 5 },
      { op: "invoke", input: null },
      { op: "update", values: { n: 40, log: ["fork of fork"] }, at: 2 },
      { op: "invoke", input: null },
      { op: "history", limit: 6 },
    ],
  },
  {
    name: "fork with asNode from a past checkpoint",
    family: "forks",
    build: (c) => chain(c),
    script: [
      { op: "invoke", input: { n: 0 } },
      { op: "update", values: { n: 70, log: ["as a"] }, asNode: "a", at: 2 },
      { op: "stream", input: null, mode: "values" },
    ],
  },
];

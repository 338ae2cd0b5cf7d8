// Static breakpoints: interruptBefore / interruptAfter at compile time and per call.
import { type BaseCheckpointSaver, END, START, StateGraph } from "@langchain/langgraph";
import type { Scenario } from "../scenario.js";
import { LogState, mark } from "./kit.js";

/** a → (b, c) → d with breakpoints given at compile time. */
const graph = (checkpointer: BaseCheckpointSaver, before: string[] = [], after: string[] = []) =>
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
    .compile({ checkpointer, interruptBefore: before as never, interruptAfter: after as never });

export const breakpoints: Scenario[] = [
  {
    name: "interruptBefore one of two parallel nodes",
    family: "breakpoints",
    build: (c) => graph(c, ["b"]),
    script: [
      { op: "invoke", input: { n: 0 } },
      { op: "state" },
      { op: "stream", input: null, mode: "debug" },
    ],
  },
  {
    name: "interruptAfter the first node",
    family: "breakpoints",
    build: (c) => graph(c, [], ["a"]),
    script: [
      { op: "stream", input: { n: 0 }, mode: ["updates", "values"] },
      { op: "state" },
      { op: "invoke", input: null },
    ],
  },
  {
    name: "interruptAfter both parallel nodes",
    family: "breakpoints",
    build: (c) => graph(c, [], ["b", "c"]),
    script: [{ op: "invoke", input: { n: 0 } }, { op: "state" }, { op: "invoke", input: null }],
  },
  {
    name: "interruptBefore every node (*)",
    family: "breakpoints",
    build: (c) => graph(c, "*" as never),
    script: [
      { op: "invoke", input: { n: 0 } },
      { op: "invoke", input: null },
      { op: "invoke", input: null },
      { op: "invoke", input: null },
      { op: "invoke", input: null },
    ],
  },
  {
    name: "breakpoints given per call",
    family: "breakpoints",
    build: (c) => graph(c),
    script: [
      { op: "invoke", input: { n: 0 }, config: { interruptBefore: ["d"] } },
      { op: "state" },
      { op: "invoke", input: null, config: { interruptAfter: ["d"] } },
      { op: "invoke", input: null },
    ],
  },
  {
    name: "state updated at a breakpoint, then continued",
    family: "breakpoints",
    build: (c) => graph(c, ["d"]),
    script: [
      { op: "invoke", input: { n: 0 } },
      { op: "update", values: { n: 100, log: ["fixed"] } },
      { op: "state" },
      { op: "invoke", input: null },
    ],
  },
];

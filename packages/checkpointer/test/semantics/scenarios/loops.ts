// Conditional loops: until a condition, to the recursion limit, with breakpoints each round.
import { type BaseCheckpointSaver, END, START, StateGraph } from "@langchain/langgraph";
import type { Scenario } from "../scenario.js";
import { type Log, LogState, mark } from "./kit.js";

/** inc loops back to itself until n reaches `until`. */
const counter = (checkpointer: BaseCheckpointSaver, until = 5, interruptBefore?: string[]) =>
  new StateGraph(LogState)
    .addNode("inc", mark("inc"))
    .addNode("done", mark("done"))
    .addEdge(START, "inc")
    .addConditionalEdges("inc", (s: Log) => (s.n < until ? "inc" : "done"), ["inc", "done"])
    .addEdge("done", END)
    .compile({ checkpointer, interruptBefore: interruptBefore as never });

/** ping ⇄ pong, each round one superstep per node, ending after `rounds` pongs. */
const pingPong = (checkpointer: BaseCheckpointSaver, rounds = 3) =>
  new StateGraph(LogState)
    .addNode("ping", mark("ping"))
    .addNode("pong", mark("pong"))
    .addEdge(START, "ping")
    .addEdge("ping", "pong")
    .addConditionalEdges("pong", (s: Log) => (s.n < rounds * 2 ? "ping" : END), ["ping", END])
    .compile({ checkpointer });

export const loops: Scenario[] = [
  {
    name: "loop until n = 5",
    family: "loops",
    build: (c) => counter(c),
    script: [{ op: "invoke", input: { n: 0 } }],
  },
  {
    name: "loop, stream updates",
    family: "loops",
    build: (c) => counter(c),
    script: [{ op: "stream", input: { n: 0 }, mode: "updates" }],
  },
  {
    name: "loop hits the recursion limit, then continues with a higher one",
    family: "loops",
    build: (c) => counter(c, 30),
    script: [
      { op: "invoke", input: { n: 0 }, config: { recursionLimit: 6 } },
      { op: "state" },
      { op: "invoke", input: null, config: { recursionLimit: 100 } },
    ],
  },
  {
    name: "ping-pong three rounds, then again",
    family: "loops",
    build: (c) => pingPong(c),
    script: [
      { op: "stream", input: { n: 0 }, mode: "debug" },
      { op: "invoke", input: { n: 0 } },
    ],
  },
  {
    name: "loop with interruptBefore each round",
    family: "loops",
    build: (c) => counter(c, 3, ["inc"]),
    script: [
      { op: "invoke", input: { n: 0 } },
      { op: "invoke", input: null },
      { op: "stream", input: null, mode: "values" },
      { op: "invoke", input: null },
      { op: "state" },
      { op: "invoke", input: null },
    ],
  },
];

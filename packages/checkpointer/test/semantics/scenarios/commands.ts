// Command: goto and update returned by nodes, Command as the input of a run.
import { type BaseCheckpointSaver, Command, END, START, StateGraph } from "@langchain/langgraph";
import type { Scenario } from "../scenario.js";
import { type Log, LogState, mark } from "./kit.js";

/** `route` jumps by Command to one node or several, chosen from n. */
const jumping = (checkpointer: BaseCheckpointSaver) =>
  new StateGraph(LogState)
    .addNode(
      "route",
      (s: Log) =>
        new Command({
          update: { log: ["route"] },
          goto: s.n === 0 ? "x" : s.n === 1 ? ["x", "y"] : END,
        }),
      { ends: ["x", "y", END] },
    )
    .addNode("x", mark("x"))
    .addNode("y", mark("y"))
    .addEdge(START, "route")
    .addEdge("x", END)
    .addEdge("y", END)
    .compile({ checkpointer });

/** A chain a → b → c, for Command inputs that jump into it. */
const chain = (checkpointer: BaseCheckpointSaver) =>
  new StateGraph(LogState)
    .addNode("a", mark("a"))
    .addNode("b", mark("b"))
    .addNode("c", mark("c"))
    .addEdge(START, "a")
    .addEdge("a", "b")
    .addEdge("b", "c")
    .addEdge("c", END)
    .compile({ checkpointer });

export const commands: Scenario[] = [
  {
    name: "node returns goto one node",
    family: "command",
    build: jumping,
    script: [{ op: "stream", input: { n: 0 }, mode: ["updates", "debug"] }],
  },
  {
    name: "node returns goto two nodes",
    family: "command",
    build: jumping,
    script: [{ op: "invoke", input: { n: 1 } }, { op: "history" }],
  },
  {
    name: "node returns goto END",
    family: "command",
    build: jumping,
    script: [{ op: "invoke", input: { n: 2 } }],
  },
  {
    name: "Command update as the input of a new thread",
    family: "command",
    build: chain,
    script: [{ op: "command", command: { update: { n: 5 } } }, { op: "state" }],
  },
  {
    name: "Command goto as input on a finished thread",
    family: "command",
    build: chain,
    script: [
      { op: "invoke", input: { n: 0 } },
      { op: "command", command: { goto: "c", update: { log: ["jump"] } }, mode: "updates" },
      { op: "state" },
    ],
  },
];

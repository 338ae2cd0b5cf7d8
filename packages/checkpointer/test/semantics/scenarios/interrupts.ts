// interrupt(): once, twice in one node, in parallel branches; resumed with a value, with a map of
// interrupt ids, with Command update; state edited while paused.
import { type BaseCheckpointSaver, END, interrupt, START, StateGraph } from "@langchain/langgraph";
import type { Scenario } from "../scenario.js";
import { type Log, LogState, mark } from "./kit.js";

/** start → ask (interrupt with `question`) → end */
const asking = (checkpointer: BaseCheckpointSaver, question: unknown = "continue?") =>
  new StateGraph(LogState)
    .addNode("start", mark("start"))
    .addNode("ask", (s: Log) => ({
      log: [`answer:${JSON.stringify(interrupt(question))}`],
      n: s.n + 1,
    }))
    .addNode("end", mark("end"))
    .addEdge(START, "start")
    .addEdge("start", "ask")
    .addEdge("ask", "end")
    .addEdge("end", END)
    .compile({ checkpointer });

/** One node asking twice: the second interrupt() only runs on the first resume. */
const askTwice = (checkpointer: BaseCheckpointSaver) =>
  new StateGraph(LogState)
    .addNode("ask", () => {
      const first = interrupt("first?") as string;
      const second = interrupt("second?") as string;
      return { log: [first, second] };
    })
    .addEdge(START, "ask")
    .addEdge("ask", END)
    .compile({ checkpointer });

/** Branches a, b, c in parallel; a and c ask; b does not. */
const parallelAsk = (checkpointer: BaseCheckpointSaver) =>
  new StateGraph(LogState)
    .addNode("a", () => ({ log: [`a:${interrupt("a?") as string}`] }))
    .addNode("b", mark("b"))
    .addNode("c", () => ({ log: [`c:${interrupt({ q: "c?" }) as string}`] }))
    .addNode("join", mark("join"))
    .addEdge(START, "a")
    .addEdge(START, "b")
    .addEdge(START, "c")
    .addEdge(["a", "b", "c"], "join")
    .addEdge("join", END)
    .compile({ checkpointer });

const byId =
  (value: (i: { id: string; value: unknown }) => unknown) =>
  (ints: Array<{ id: string; value: unknown }>) =>
    Object.fromEntries(ints.map((i) => [i.id, value(i)]));

export const interrupts: Scenario[] = [
  {
    name: "once, resumed with a value",
    family: "interrupts",
    build: (c) => asking(c),
    script: [
      { op: "invoke", input: { n: 0 } },
      { op: "state" },
      { op: "command", command: { resume: "yes" } },
    ],
  },
  {
    name: "once, object question and answer, streamed",
    family: "interrupts",
    build: (c) => asking(c, { kind: "approval", items: [1, 2, 3] }),
    script: [
      { op: "stream", input: { n: 0 }, mode: ["updates", "values"] },
      { op: "command", command: { resume: { approved: true, note: "ok" } }, mode: "debug" },
    ],
  },
  {
    name: "once, resumed by interrupt id map",
    family: "interrupts",
    build: (c) => asking(c),
    script: [
      { op: "invoke", input: { n: 0 } },
      { op: "command", command: {}, resumeFrom: byId(() => "by id") },
    ],
  },
  {
    name: "once, resumed with Command update",
    family: "interrupts",
    build: (c) => asking(c),
    script: [
      { op: "invoke", input: { n: 0 } },
      { op: "command", command: { resume: "yes", update: { n: 40 } } },
    ],
  },
  {
    name: "state updated while paused, then resumed",
    family: "interrupts",
    build: (c) => asking(c),
    script: [
      { op: "invoke", input: { n: 0 } },
      { op: "update", values: { log: ["edited"] } },
      { op: "state" },
      { op: "command", command: { resume: "after edit" } },
    ],
  },
  {
    name: "new input instead of a resume",
    family: "interrupts",
    build: (c) => asking(c),
    script: [
      { op: "invoke", input: { n: 0 } },
      { op: "invoke", input: { n: 10 } },
      { op: "state" },
    ],
  },
  {
    name: "resumed twice (already answered) on a finished thread",
    family: "interrupts",
    build: (c) => asking(c),
    script: [
      { op: "invoke", input: { n: 0 } },
      { op: "command", command: { resume: "one" } },
      { op: "command", command: { resume: "two" } },
    ],
  },
  {
    name: "twice in one node",
    family: "interrupts",
    build: askTwice,
    script: [
      { op: "invoke", input: { n: 0 } },
      { op: "command", command: { resume: "a" } },
      { op: "state" },
      { op: "command", command: { resume: "b" } },
    ],
  },
  {
    name: "twice in one node, second answer by id",
    family: "interrupts",
    build: askTwice,
    script: [
      { op: "invoke", input: { n: 0 } },
      { op: "command", command: {}, resumeFrom: byId(() => "first by id") },
      { op: "command", command: {}, resumeFrom: byId(() => "second by id") },
    ],
  },
  {
    name: "parallel branches, resumed by id map",
    family: "interrupts",
    build: parallelAsk,
    script: [
      { op: "invoke", input: { n: 0 } },
      { op: "state" },
      { op: "command", command: {}, resumeFrom: byId((i) => `ans-${JSON.stringify(i.value)}`) },
    ],
  },
  {
    name: "parallel branches, resumed one by one",
    family: "interrupts",
    build: parallelAsk,
    script: [
      { op: "stream", input: { n: 0 }, mode: "updates" },
      {
        op: "command",
        command: {},
        resumeFrom: (ints) => ({ [ints[0]!.id]: "first" }),
        mode: "updates",
      },
      { op: "state" },
      { op: "command", command: {}, resumeFrom: byId(() => "rest") },
    ],
  },
];

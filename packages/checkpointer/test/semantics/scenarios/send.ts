// Send: map-reduce fan-out to a node once per item, from edges and from Command.goto.
import {
  Annotation,
  type BaseCheckpointSaver,
  Command,
  END,
  interrupt,
  Send,
  START,
  StateGraph,
} from "@langchain/langgraph";
import type { Scenario } from "../scenario.js";
import { append } from "./kit.js";

const MapState = Annotation.Root({
  items: Annotation<string[]>({ reducer: (_a, b) => b, default: () => [] }),
  results: append<string>(),
  summary: Annotation<string>({ reducer: (_a, b) => b, default: () => "" }),
});
type Map = typeof MapState.State;

/** Fans out one `work` task per item (optionally interrupting for some), then reduces. */
const mapReduce = (
  checkpointer: BaseCheckpointSaver,
  ask: (item: string) => boolean = () => false,
) =>
  new StateGraph(MapState)
    .addNode("plan", (s: Map) => ({ items: s.items }))
    .addNode("work", (arg: { item: string }) => {
      const suffix = ask(arg.item) ? `:${interrupt({ item: arg.item }) as string}` : "";
      return { results: [`done ${arg.item}${suffix}`] };
    })
    .addNode("reduce", (s: Map) => ({ summary: [...s.results].sort().join(",") }))
    .addEdge(START, "plan")
    .addConditionalEdges("plan", (s: Map) => s.items.map((item) => new Send("work", { item })), [
      "work",
    ])
    .addEdge("work", "reduce")
    .addEdge("reduce", END)
    .compile({ checkpointer });

/** The planner sends through Command.goto instead of a conditional edge. */
const commandSend = (checkpointer: BaseCheckpointSaver) =>
  new StateGraph(MapState)
    .addNode(
      "plan",
      (s: Map) =>
        new Command({
          update: { summary: "planned" },
          goto: s.items.map((item) => new Send("work", { item })),
        }),
      { ends: ["work"] },
    )
    .addNode("work", (arg: { item: string }) => ({ results: [arg.item.toUpperCase()] }))
    .addEdge(START, "plan")
    .addEdge("work", END)
    .compile({ checkpointer });

/** Two rounds: each result is sent again once more to `refine`. */
const twoRounds = (checkpointer: BaseCheckpointSaver) =>
  new StateGraph(MapState)
    .addNode("plan", () => ({}))
    .addNode("work", (arg: { item: string }) => ({ results: [`w:${arg.item}`] }))
    .addNode("refine", (arg: { item: string }) => ({ results: [`r:${arg.item}`] }))
    .addNode("reduce", (s: Map) => ({ summary: [...s.results].sort().join(",") }))
    .addEdge(START, "plan")
    .addConditionalEdges("plan", (s: Map) => s.items.map((item) => new Send("work", { item })), [
      "work",
    ])
    .addConditionalEdges(
      "work",
      (s: Map) =>
        s.results.filter((r) => r.startsWith("w:")).map((item) => new Send("refine", { item })),
      ["refine"],
    )
    .addEdge("refine", "reduce")
    .addEdge("reduce", END)
    .compile({ checkpointer });

export const send: Scenario[] = [
  {
    name: "map-reduce over three items",
    family: "send",
    build: (c) => mapReduce(c),
    script: [{ op: "invoke", input: { items: ["a", "b", "c"] } }],
  },
  {
    name: "map-reduce, stream updates and debug",
    family: "send",
    build: (c) => mapReduce(c),
    script: [{ op: "stream", input: { items: ["x", "y"] }, mode: ["updates", "debug"] }],
  },
  {
    name: "map-reduce over no items",
    family: "send",
    build: (c) => mapReduce(c),
    script: [{ op: "invoke", input: { items: [] } }],
  },
  {
    name: "map-reduce with interrupts in two of four sends, resumed by id map",
    family: "send",
    build: (c) => mapReduce(c, (item) => item === "b" || item === "d"),
    script: [
      { op: "invoke", input: { items: ["a", "b", "c", "d"] } },
      { op: "state" },
      {
        op: "command",
        command: {},
        resumeFrom: (ints) =>
          Object.fromEntries(ints.map((i) => [i.id, `ok-${(i.value as { item: string }).item}`])),
      },
    ],
  },
  {
    name: "map-reduce with interrupts, resumed one at a time",
    family: "send",
    build: (c) => mapReduce(c, (item) => item !== "a"),
    script: [
      { op: "invoke", input: { items: ["a", "b", "c"] } },
      { op: "command", command: {}, resumeFrom: (ints) => ({ [ints[0]!.id]: "first" }) },
      { op: "state" },
      { op: "command", command: {}, resumeFrom: (ints) => ({ [ints[0]!.id]: "second" }) },
    ],
  },
  {
    name: "Send from Command.goto",
    family: "send",
    build: commandSend,
    script: [
      { op: "stream", input: { items: ["p", "q", "r"] }, mode: "updates" },
      { op: "invoke", input: { items: ["s"] } },
    ],
  },
  {
    name: "map-reduce over 300 items (write idx past 127)",
    family: "send",
    build: (c) => mapReduce(c),
    script: [
      { op: "invoke", input: { items: Array.from({ length: 300 }, (_, i) => `i${i}`) } },
      { op: "history", limit: 2 },
    ],
  },
  {
    name: "two rounds of sends",
    family: "send",
    build: twoRounds,
    script: [{ op: "invoke", input: { items: ["1", "2"] } }],
  },
];

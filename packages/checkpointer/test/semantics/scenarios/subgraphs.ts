// Subgraphs two and three levels deep: inherited checkpointer, own state, interrupts inside,
// getState({ subgraphs: true }), parallel children, Command.PARENT, updateState on a child.
import {
  Annotation,
  type BaseCheckpointSaver,
  Command,
  END,
  interrupt,
  START,
  StateGraph,
} from "@langchain/langgraph";
import type { Scenario, StepContext } from "../scenario.js";
import { append, type Log, LogState, mark } from "./kit.js";

/** A child graph on the parent's keys: `<name>.1 → <name>.2`, optionally asking in between. */
const child = (name: string, ask = false) =>
  new StateGraph(LogState)
    .addNode("one", mark(`${name}.1`))
    .addNode("ask", (s: Log) =>
      ask ? { log: [`${name}:${interrupt(`${name}?`) as string}`] } : { n: s.n },
    )
    .addNode("two", mark(`${name}.2`))
    .addEdge(START, "one")
    .addEdge("one", "ask")
    .addEdge("ask", "two")
    .addEdge("two", END)
    .compile();

/** parent: before → sub → after, where sub is `inner` (any compiled graph on LogState). */
const around = (checkpointer: BaseCheckpointSaver | undefined, inner: unknown) =>
  new StateGraph(LogState)
    .addNode("before", mark("before"))
    .addNode("sub", inner as never)
    .addNode("after", mark("after"))
    .addEdge(START, "before")
    .addEdge("before", "sub")
    .addEdge("sub", "after")
    .addEdge("after", END)
    .compile({ checkpointer });

/** Three levels: parent → middle → child (which may ask). */
const threeLevels = (checkpointer: BaseCheckpointSaver, ask: boolean) =>
  around(checkpointer, around(undefined, child("leaf", ask)));

/** `count` children side by side, each asking a question. */
const parallelAsking = (checkpointer: BaseCheckpointSaver, count: number) => {
  // Node names made at run time: the builder's literal name types cannot follow.
  let g: any = new StateGraph(LogState).addNode("fan", mark("fan")).addNode("join", mark("join"));
  const names = Array.from({ length: count }, (_, i) => `k${i}`);
  for (const name of names) g = g.addNode(name, child(name, true));
  g = g.addEdge(START, "fan");
  for (const name of names) g = g.addEdge("fan", name);
  return g.addEdge(names, "join").addEdge("join", END).compile({ checkpointer });
};

const OtherState = Annotation.Root({ text: Annotation<string>, steps: append<string>() });

/** A node that calls a child with a different state schema and maps the result back. */
const viaFunction = (checkpointer: BaseCheckpointSaver) => {
  const inner = new StateGraph(OtherState)
    .addNode("upper", (s: typeof OtherState.State) => ({
      text: s.text.toUpperCase(),
      steps: ["upper"],
    }))
    .addNode("exclaim", (s: typeof OtherState.State) => ({
      text: `${s.text}!`,
      steps: ["exclaim"],
    }))
    .addEdge(START, "upper")
    .addEdge("upper", "exclaim")
    .addEdge("exclaim", END)
    .compile();
  return new StateGraph(LogState)
    .addNode("call", async (s: Log, config) => {
      const out = await inner.invoke({ text: `n=${s.n}` }, config);
      return { log: [out.text, ...out.steps] };
    })
    .addEdge(START, "call")
    .addEdge("call", END)
    .compile({ checkpointer });
};

/** A child with its own persistent history (checkpointer: true): it remembers between calls. */
const persistentChild = (checkpointer: BaseCheckpointSaver) => {
  const Counter = Annotation.Root({ seen: append<number>() });
  const inner = new StateGraph(Counter)
    .addNode("remember", (s: typeof Counter.State) => ({ seen: [s.seen.length] }))
    .addEdge(START, "remember")
    .addEdge("remember", END)
    .compile({ checkpointer: true });
  return new StateGraph(LogState)
    .addNode("call", async (_s: Log) => {
      const out = await inner.invoke({ seen: [] });
      return { log: [`seen ${out.seen.join(",")}`] };
    })
    .addEdge(START, "call")
    .addEdge("call", END)
    .compile({ checkpointer });
};

/** The child jumps to a parent node with Command.PARENT. */
const toParent = (checkpointer: BaseCheckpointSaver) => {
  const inner = new StateGraph(LogState)
    .addNode(
      "escape",
      () => new Command({ graph: Command.PARENT, goto: "rescue", update: { log: ["escape"] } }),
      {
        ends: [],
      },
    )
    .addEdge(START, "escape")
    .compile();
  return new StateGraph(LogState)
    .addNode("sub", inner as never, { ends: ["rescue"] })
    .addNode("rescue", mark("rescue"))
    .addEdge(START, "sub")
    .addEdge("rescue", END)
    .compile({ checkpointer });
};

/** Writes into the paused child's own state through the config getState gives for it. */
const updateChild = async ({ graph, config }: StepContext) => {
  const state = await graph.getState(config(), { subgraphs: true });
  const childConfig = state.tasks[0].state.config;
  await graph.updateState(childConfig, { log: ["edited in child"] });
  return graph.getState(config(), { subgraphs: true });
};

export const subgraphs: Scenario[] = [
  {
    name: "two levels",
    family: "subgraphs",
    build: (c) => around(c, child("c")),
    script: [
      { op: "invoke", input: { n: 0 } },
      { op: "state", subgraphs: true },
    ],
  },
  {
    name: "two levels, stream updates and values with subgraphs",
    family: "subgraphs",
    build: (c) => around(c, child("c")),
    script: [{ op: "stream", input: { n: 0 }, mode: ["updates", "values"], subgraphs: true }],
  },
  {
    name: "two levels, stream debug with subgraphs",
    family: "subgraphs",
    build: (c) => around(c, child("c")),
    script: [{ op: "stream", input: { n: 0 }, mode: "debug", subgraphs: true }],
  },
  {
    name: "interrupt in a child, state with subgraphs, resume",
    family: "subgraphs",
    build: (c) => around(c, child("c", true)),
    script: [
      { op: "invoke", input: { n: 0 } },
      { op: "state", subgraphs: true },
      { op: "state" },
      { op: "command", command: { resume: "yes" }, mode: ["updates", "values"] },
      { op: "state", subgraphs: true },
    ],
  },
  {
    name: "three levels",
    family: "subgraphs",
    build: (c) => threeLevels(c, false),
    script: [
      { op: "stream", input: { n: 0 }, mode: "updates", subgraphs: true },
      { op: "state", subgraphs: true },
    ],
  },
  {
    name: "three levels, interrupt in the grandchild, resume",
    family: "subgraphs",
    build: (c) => threeLevels(c, true),
    script: [
      { op: "invoke", input: { n: 0 } },
      { op: "state", subgraphs: true },
      { op: "stream", input: null, mode: "values", subgraphs: true },
      { op: "command", command: { resume: "deep" } },
      { op: "history" },
    ],
  },
  {
    name: "child called from a node with another schema",
    family: "subgraphs",
    build: viaFunction,
    script: [
      { op: "invoke", input: { n: 4 } },
      { op: "stream", input: { n: 5 }, mode: "updates", subgraphs: true },
    ],
  },
  {
    name: "child with its own persistent history",
    family: "subgraphs",
    build: persistentChild,
    script: [
      { op: "invoke", input: { n: 0 } },
      { op: "invoke", input: { n: 1 } },
      { op: "invoke", input: { n: 2 } },
      { op: "state", subgraphs: true },
    ],
  },
  {
    name: "two children side by side, both asking, resumed by id map",
    family: "subgraphs",
    build: (c) => parallelAsking(c, 2),
    script: [
      { op: "invoke", input: { n: 0 } },
      { op: "state", subgraphs: true },
      {
        op: "command",
        command: {},
        resumeFrom: (ints) => Object.fromEntries(ints.map((i) => [i.id, `re:${i.value}`])),
      },
    ],
  },
  {
    name: "five children side by side, all asking, resumed two then three",
    family: "subgraphs",
    build: (c) => parallelAsking(c, 5),
    script: [
      { op: "invoke", input: { n: 0 } },
      { op: "state", subgraphs: true },
      {
        op: "command",
        command: {},
        resumeFrom: (ints) =>
          Object.fromEntries(ints.slice(0, 2).map((i) => [i.id, `re:${i.value}`])),
      },
      { op: "state" },
      {
        op: "command",
        command: {},
        resumeFrom: (ints) => Object.fromEntries(ints.map((i) => [i.id, `re:${i.value}`])),
        mode: ["updates"],
      },
    ],
  },
  {
    name: "Command.PARENT from a child",
    family: "subgraphs",
    build: toParent,
    script: [{ op: "stream", input: { n: 0 }, mode: ["updates", "debug"] }],
  },
  {
    name: "updateState on a paused child's own state",
    family: "subgraphs",
    build: (c) => around(c, child("c", true)),
    script: [
      { op: "invoke", input: { n: 0 } },
      { op: "call", run: updateChild },
      { op: "command", command: { resume: "after edit" } },
    ],
  },
];

// Retry policies, nodes that fail then succeed on re-invoke (kept writes of finished siblings),
// and the three durability modes.
import { type BaseCheckpointSaver, END, interrupt, START, StateGraph } from "@langchain/langgraph";
import type { Scenario, StepContext } from "../scenario.js";
import { type Log, LogState, mark } from "./kit.js";

const FAST = { initialInterval: 1, backoffFactor: 1, jitter: false, logWarning: false };

/** How often each node really ran: side effects a resumed run must not repeat. */
type Counted = { runs: Record<string, number> };
const runsOf = async ({ graph }: StepContext) => (graph as unknown as Counted).runs;

/**
 * a → (ok, flaky) → join. `flaky` throws on its first `failures` calls; with `retries` it gets
 * that many attempts inside one run.
 */
const flakyGraph = (checkpointer: BaseCheckpointSaver, failures: number, retries?: number) => {
  const runs: Record<string, number> = {};
  const count = (name: string) => {
    runs[name] = (runs[name] ?? 0) + 1;
    return runs[name];
  };
  const counted = (name: string) => (s: Log) => {
    count(name);
    return mark(name)(s);
  };
  const graph = new StateGraph(LogState)
    .addNode("a", counted("a"))
    .addNode("ok", counted("ok"))
    .addNode(
      "flaky",
      (s: Log) => {
        if (count("flaky") <= failures) throw new Error(`flaky failed (call ${runs.flaky})`);
        return mark("flaky")(s);
      },
      retries ? { retryPolicy: { ...FAST, maxAttempts: retries } } : undefined,
    )
    .addNode("join", mark("join"))
    .addEdge(START, "a")
    .addEdge("a", "ok")
    .addEdge("a", "flaky")
    .addEdge(["ok", "flaky"], "join")
    .addEdge("join", END)
    .compile({ checkpointer });
  return Object.assign(graph, { runs });
};

/** a → ask (interrupt) → b → c, for durability modes. */
const durable = (checkpointer: BaseCheckpointSaver) =>
  new StateGraph(LogState)
    .addNode("a", mark("a"))
    .addNode("ask", () => ({ log: [`ask:${interrupt("go?") as string}`] }))
    .addNode("b", mark("b"))
    .addNode("c", mark("c"))
    .addEdge(START, "a")
    .addEdge("a", "ask")
    .addEdge("ask", "b")
    .addEdge("b", "c")
    .addEdge("c", END)
    .compile({ checkpointer });

export const failures: Scenario[] = [
  {
    name: "retry policy: two failures then success in one run",
    family: "retry",
    build: (c) => flakyGraph(c, 2, 3),
    script: [
      { op: "stream", input: { n: 0 }, mode: ["updates", "debug"] },
      { op: "call", run: runsOf },
    ],
  },
  {
    name: "retry policy exhausted, then re-invoked",
    family: "retry",
    build: (c) => flakyGraph(c, 3, 2),
    script: [
      { op: "invoke", input: { n: 0 } },
      { op: "state" },
      { op: "invoke", input: null },
      { op: "call", run: runsOf },
    ],
  },
  {
    name: "node fails, sibling's writes kept, re-invoke succeeds",
    family: "retry",
    build: (c) => flakyGraph(c, 1),
    script: [
      { op: "stream", input: { n: 0 }, mode: "debug" },
      { op: "state" },
      { op: "stream", input: null, mode: "updates" },
      { op: "call", run: runsOf },
    ],
  },
  {
    name: "fails twice across invokes",
    family: "retry",
    build: (c) => flakyGraph(c, 2),
    script: [
      { op: "invoke", input: { n: 0 } },
      { op: "invoke", input: null },
      { op: "invoke", input: null },
      { op: "call", run: runsOf },
    ],
  },
  ...(["exit", "async", "sync"] as const).map(
    (durability): Scenario => ({
      name: `durability ${durability}: interrupt, resume`,
      family: "durability",
      build: durable,
      script: [
        { op: "invoke", input: { n: 0 }, config: { durability } },
        { op: "state" },
        { op: "command", command: { resume: "yes" }, config: { durability } },
        { op: "history" },
      ],
    }),
  ),
  ...(["exit", "sync"] as const).map(
    (durability): Scenario => ({
      name: `durability ${durability}: failure, re-invoke`,
      family: "durability",
      build: (c) => flakyGraph(c, 1),
      script: [
        { op: "invoke", input: { n: 0 }, config: { durability } },
        { op: "state" },
        { op: "invoke", input: null, config: { durability } },
        { op: "call", run: runsOf },
      ],
    }),
  ),
];

// Values the serializer must carry unchanged: NUL, lone surrogates, emoji, binary, dates,
// collections, numbers at the edges, look-alikes of serialized classes, deep and wide objects.
import {
  Annotation,
  type BaseCheckpointSaver,
  END,
  interrupt,
  START,
  StateGraph,
} from "@langchain/langgraph";
import type { Scenario } from "../scenario.js";

const Box = Annotation.Root({
  value: Annotation<unknown>({ reducer: (_a, b) => b, default: () => null }),
  seen: Annotation<string[]>({ reducer: (a, b) => [...a, ...b], default: () => [] }),
});

/** Stores `make()` in a node, echoes it through an interrupt and a resume, reads it back. */
const carry =
  (make: () => unknown, viaInterrupt = false) =>
  (checkpointer: BaseCheckpointSaver) =>
    new StateGraph(Box)
      .addNode("put", () => ({ value: make(), seen: ["put"] }))
      .addNode("ask", (s: typeof Box.State) => {
        const answer = viaInterrupt ? interrupt({ echo: s.value }) : null;
        return { seen: [`ask:${typeof answer}`], ...(viaInterrupt ? { value: answer } : {}) };
      })
      .addNode("check", (s: typeof Box.State) => ({ seen: [`check:${describe(s.value)}`] }))
      .addEdge(START, "put")
      .addEdge("put", "ask")
      .addEdge("ask", "check")
      .addEdge("check", END)
      .compile({ checkpointer });

/** What a node sees, as text: types survive or not, and the transcript shows which. */
function describe(v: unknown): string {
  if (v === null || typeof v !== "object") return typeof v;
  if (Array.isArray(v)) return `array(${v.length})`;
  return `${Object.getPrototypeOf(v)?.constructor?.name ?? "null-proto"}{${Object.keys(v).join(",")}}`;
}

const script = (resume?: () => unknown): Scenario["script"] => [
  { op: "invoke", input: {} },
  { op: "state" },
  ...(resume
    ? ([{ op: "command", command: { resume: resume() } }, { op: "state" }] as Scenario["script"])
    : []),
];

const strings = () => ({
  nul: "a\u0000b",
  onlyNul: "\u0000",
  keyed: { "k\u0000ey": "v" },
  surrogateHigh: "x\ud800y",
  surrogateLow: "\udfff",
  emoji: "😀👩‍👩‍👧 café ﷽",
  rtl: "\u202eabc",
  escapes: 'quote " backslash \\ tab \t newline \n',
  unicodeEscapeText: "\\u0000 is not NUL",
});

const exotic = () => ({
  bytes: new Uint8Array([0, 1, 2, 255]),
  emptyBytes: new Uint8Array(0),
  date: new Date("2024-02-29T12:34:56.789Z"),
  map: new Map<unknown, unknown>([
    ["a", 1],
    [2, { b: true }],
  ]),
  set: new Set(["x", "y", 3]),
});

const numbers = () => ({
  big: Number.MAX_SAFE_INTEGER,
  small: Number.MIN_SAFE_INTEGER,
  tiny: 5e-324,
  negZero: -0,
  nan: Number.NaN,
  inf: Number.POSITIVE_INFINITY,
  frac: 0.1 + 0.2,
  exp: 1e300,
});

const lookalikes = () => ({
  lc: {
    lc: 1,
    type: "constructor",
    id: ["langchain_core", "messages", "HumanMessage"],
    kwargs: { content: "fake" },
  },
  notImplemented: { lc: 1, type: "not_implemented", id: ["x"] },
  secret: { lc: 1, type: "secret", id: ["OPENAI_API_KEY"] },
  proto: JSON.parse('{"__proto__": {"polluted": true}, "constructor": "c"}'),
  sendLike: { lg_name: "Send", node: "x", args: {} },
  commandLike: { lg_name: "Command", goto: "x" },
  undefinedInside: { a: undefined, b: [undefined, null] },
});

const deep = () => {
  let v: unknown = "bottom";
  for (let i = 0; i < 150; i += 1) v = { level: i, v };
  const wide = Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`key${i}`, i]));
  return { deep: v, wide, longArray: Array.from({ length: 10_000 }, (_, i) => i % 7) };
};

export const values: Scenario[] = [
  {
    name: "strings: NUL, lone surrogates, emoji",
    family: "values",
    build: carry(strings),
    script: script(),
  },
  {
    name: "strings through interrupt and resume",
    family: "values",
    build: carry(strings, true),
    script: script(strings),
  },
  { name: "Uint8Array, Date, Map, Set", family: "values", build: carry(exotic), script: script() },
  {
    name: "Uint8Array, Date, Map, Set through interrupt and resume",
    family: "values",
    build: carry(exotic, true),
    script: script(exotic),
  },
  { name: "numbers at the edges", family: "values", build: carry(numbers), script: script() },
  {
    name: "look-alikes of serialized classes",
    family: "values",
    build: carry(lookalikes),
    script: script(),
  },
  { name: "deep and wide", family: "values", build: carry(deep), script: script() },
  {
    name: "5 MB string",
    family: "values",
    heavy: true,
    build: carry(() => `${"x".repeat(5 * 1024 * 1024 - 2)}😀`),
    script: script(),
  },
];

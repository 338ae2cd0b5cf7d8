import { emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import { toolLoopGraph } from "./graphs.js";
import { targets } from "./helpers.js";

const NUL = "\u0000";
const MARKERISH = "\u0001agentstate:nul\u0001not really";

describe.each(targets)("NUL bytes ($name)", (target) => {
  let made: Awaited<ReturnType<typeof target.create>>;
  beforeAll(async () => {
    made = await target.create();
  });
  afterAll(() => made.dispose());

  it("round-trips NUL in metadata, checkpoint JSON and channel values exactly", async () => {
    const { saver } = made;
    const checkpoint = {
      ...emptyCheckpoint(),
      id: uuid6(0),
      channel_values: { text: `a${NUL}b`, nested: { [`k${NUL}`]: [NUL, "\\0", MARKERISH] } },
      channel_versions: { text: 1, nested: 1 },
      versions_seen: { [`node${NUL}x`]: { text: 1 } },
    };
    const metadata = {
      source: "input" as const,
      step: -1,
      parents: {},
      note: `x${NUL}y\\0z`,
      odd: MARKERISH,
      [`key${NUL}`]: NUL,
    };
    const config = await saver.put({ configurable: { thread_id: "nul" } }, checkpoint, metadata, {
      text: 1,
      nested: 1,
    });
    await saver.putWrites(config, [["text", `w${NUL}`]], "task");
    const tuple = await saver.getTuple(config);
    expect(tuple?.checkpoint.channel_values).toEqual(checkpoint.channel_values);
    expect(tuple?.checkpoint.versions_seen).toEqual(checkpoint.versions_seen);
    expect(tuple?.metadata).toEqual(metadata);
    expect(tuple?.pendingWrites).toEqual([["task", "text", `w${NUL}`]]);
    // filter on a NUL-bearing metadata value finds it
    const found = [];
    for await (const t of saver.list(
      { configurable: { thread_id: "nul" } },
      { filter: { note: `x${NUL}y\\0z` } },
    ))
      found.push(t);
    expect(found).toHaveLength(1);
  });

  it("a graph whose state carries NUL runs and reads back", async () => {
    const graph = toolLoopGraph(made.saver, 2);
    const config = { configurable: { thread_id: "nul-graph" } };
    const out = await graph.invoke(
      { messages: [{ role: "user", content: `hello${NUL}world` }] },
      config,
    );
    expect(out.messages[0]?.content).toBe(`hello${NUL}world`);
    const state = await graph.getState(config);
    expect(state.values.messages[0]?.content).toBe(`hello${NUL}world`);
    expect(state.values.messages).toHaveLength(out.messages.length);
  });
});

// A channel whose whole value is a Uint8Array is stored as raw bytes (type "bytes"). MemorySaver
// cannot read it back (it JSON-parses every value), so the differential suite cannot cover it:
// here the bytes must come back exactly, as a Uint8Array, on both engines. Before the read path
// left binary mode, node-postgres decoded the bytes as UTF-8 and every byte ≥ 0x80 was lost.
import { Annotation, END, START, StateGraph } from "@langchain/langgraph";
import { targets } from "../helpers.js";

const Bytes = Annotation.Root({ data: Annotation<Uint8Array> });
const ALL = Uint8Array.from({ length: 256 }, (_, i) => 255 - i);

describe.each(targets)("raw bytes as a channel value ($name)", (target) => {
  let made: Awaited<ReturnType<typeof target.create>>;
  beforeAll(async () => {
    made = await target.create();
  });
  afterAll(() => made.dispose());

  it("come back byte for byte, as a Uint8Array", async () => {
    const graph = new StateGraph(Bytes)
      .addNode("keep", () => ({ data: ALL }))
      .addEdge(START, "keep")
      .addEdge("keep", END)
      .compile({ checkpointer: made.saver });
    const config = { configurable: { thread_id: "bytes" } };
    await graph.invoke({ data: new Uint8Array([1]) }, config);
    const { data } = (await graph.getState(config)).values;
    expect(Object.getPrototypeOf(data)).toBe(Uint8Array.prototype);
    expect([...data]).toEqual([...ALL]);
  });
});

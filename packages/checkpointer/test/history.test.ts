// Native getDeltaChannelHistory against the base class's walk (one getTuple per ancestor) as the
// oracle: every checkpoint of linear and forked DeltaChannel threads, default and compact storage.
import { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import { PostgresCheckpointer } from "../src/index.js";
import { deltaStepGraph } from "./graphs.js";
import { targets } from "./helpers.js";

const oracle = BaseCheckpointSaver.prototype.getDeltaChannelHistory;

function graph(checkpointer: BaseCheckpointSaver, snapshotFrequency: number) {
  return deltaStepGraph(checkpointer, {
    snapshotFrequency,
    stop: (n) => n % 10 === 0,
    padding: 40,
  });
}

describe.each(targets)("getDeltaChannelHistory ($name)", (target) => {
  let made: Awaited<ReturnType<typeof target.create>>;
  beforeAll(async () => {
    made = await target.create();
  });
  afterAll(() => made.dispose());

  it("equals the base walk on a walk longer than the first page of ancestors, forked", async () => {
    const saver = made.saver;
    const config = { configurable: { thread_id: "h-long" } };
    const g = graph(saver, 10_000);
    for (let i = 0; i < 32; i += 1) await g.invoke({ n: i * 10 }, config);
    const history = [];
    for await (const s of g.getStateHistory(config)) history.push(s);
    const mid = history[150]?.config;
    if (!mid) throw new Error("thread too short");
    const forked = await g.updateState(mid, { n: 1000 });
    await g.invoke(null, forked);
    const heads = [];
    for await (const t of saver.list(config, { limit: 1 })) heads.push(t.config);
    // the main branch's head walks ~350 checkpoints: past the first page (256) of ancestors
    for (const at of [...heads, history[0]?.config, history[40]?.config]) {
      const options = { config: at as typeof config, channels: ["messages"] };
      const native = await saver.getDeltaChannelHistory(options);
      expect(native.messages?.writes.length).toBeGreaterThan(150);
      expect(native).toEqual(await oracle.call(saver, options));
    }
  }, 120_000);

  for (const [label, storage, snapshotFrequency] of [
    ["no snapshots", "default", 1000],
    ["a snapshot every 4 updates", "default", 4],
    ["compact storage, a snapshot every 4 updates", "compact", 4],
  ] as const) {
    it(`equals the base walk at every checkpoint of a forked thread: ${label}`, async () => {
      const saver = new PostgresCheckpointer(made.saver.db, undefined, {
        schema: made.saver.options.schema,
        storage,
      });
      const thread = `h-${storage}-${snapshotFrequency}`;
      const config = { configurable: { thread_id: thread } };
      const g = graph(saver, snapshotFrequency);
      await g.invoke({ n: 0 }, config);
      await g.invoke({ n: 10 }, config);
      // fork from an early checkpoint, and let both branches grow, interleaved
      const history = [];
      for await (const s of g.getStateHistory(config)) history.push(s);
      const forkAt = history[history.length - 5]?.config;
      if (!forkAt) throw new Error("thread too short to fork");
      const forked = await g.updateState(forkAt, { n: 100 });
      await g.invoke(null, forked);
      await g.invoke({ n: 30 }, config);
      let compared = 0;
      for await (const t of saver.list(config)) {
        const options = { config: t.config, channels: ["messages", "n"] };
        const ops: string[] = [];
        const stop = saver.onOperation((e) => ops.push(e.operation));
        const native = await saver.getDeltaChannelHistory(options);
        stop();
        // one statement; a compact seed's chain is fetched by a second one
        const statements = ops.filter((o) => o === "getDeltaChannelHistory").length;
        expect(statements).toBeLessThanOrEqual(storage === "compact" ? 2 : 1);
        expect(native).toEqual(await oracle.call(saver, options));
        compared += 1;
      }
      expect(compared).toBeGreaterThan(30);
    });
  }
});

// Native getDeltaChannelHistory on inputs the graph tests do not produce, against the base
// class's walk (one getTuple per ancestor): branches whose checkpoints interleave (two runs from
// one checkpoint at once: a second statement walks parent links), writes stored under an id
// that has no checkpoint row, ancestors deleted outside agentstate, a channel asked for twice,
// channels whose seeds lie at different depths (the ancestor scan stops after the deepest one
// needed), more channels than the scan's per-channel bits, a seed just where another branch's
// checkpoint comes next in id order.
import { AIMessage } from "@langchain/core/messages";
import { BaseCheckpointSaver, emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import type { PostgresCheckpointer } from "../src/index.js";
import { deltaStepGraph } from "./graphs.js";
import { targets } from "./helpers.js";

const oracle = BaseCheckpointSaver.prototype.getDeltaChannelHistory;

function graph(checkpointer: BaseCheckpointSaver) {
  return deltaStepGraph(checkpointer, { snapshotFrequency: 1000, stop: (n) => n >= 6 });
}

/** getDeltaChannelHistory, and how many statements it sent. */
async function historyCounted(
  saver: PostgresCheckpointer,
  options: Parameters<PostgresCheckpointer["getDeltaChannelHistory"]>[0],
) {
  let statements = 0;
  const stop = saver.onOperation((e) => {
    if (e.operation === "getDeltaChannelHistory") statements += 1;
  });
  try {
    return { native: await saver.getDeltaChannelHistory(options), statements };
  } finally {
    stop();
  }
}

describe.each(targets)("getDeltaChannelHistory edges ($name)", (target) => {
  let made: Awaited<ReturnType<typeof target.create>>;
  beforeAll(async () => {
    made = await target.create();
  });
  afterAll(() => made.dispose());

  for (const [label, seeds] of [
    ["no stored value", []],
    ["a stored value at the root", ["r"]],
    ["stored values inside both branches", ["a2", "b3"]],
  ] as const) {
    it(`equals the walk on branches that interleave: ${label}`, async () => {
      const saver = made.saver;
      const thread = `interleaved-${seeds.join("-")}`;
      // r, then a1 b1 a2 b2 …: each branch's checkpoints alternate with the other's in id order
      const ids = Array.from({ length: 13 }, (_, i) => uuid6(i)).sort();
      const names = ["r"];
      const parentOf = new Map<string, string>();
      for (let i = 1; i <= 6; i += 1) {
        for (const b of ["a", "b"]) {
          names.push(`${b}${i}`);
          parentOf.set(`${b}${i}`, i === 1 ? "r" : `${b}${i - 1}`);
        }
      }
      const idOf = new Map(names.map((n, i) => [n, ids[i] as string]));
      const at = (name?: string) => ({
        configurable: { thread_id: thread, checkpoint_ns: "", checkpoint_id: idOf.get(name ?? "") },
      });
      for (const [i, name] of names.entries()) {
        const stored = (seeds as readonly string[]).includes(name);
        const checkpoint = {
          ...emptyCheckpoint(),
          id: idOf.get(name) as string,
          channel_values: stored ? { messages: [`snapshot at ${name}`] } : {},
          channel_versions: { messages: i + 1 },
        };
        const meta = { source: "loop" as const, step: i, parents: {} };
        await saver.put(at(parentOf.get(name)), checkpoint, meta, { messages: i + 1 });
        await saver.putWrites(at(name), [["messages", `write at ${name}`]], `task-${name}`);
      }
      let walked = 0;
      for (const name of names) {
        const options = { config: at(name), channels: ["messages"] };
        const { native, statements } = await historyCounted(saver, options);
        // the range statement finds the history not linear, the walk answers
        walked += statements - 1;
        expect(native, name).toEqual(await oracle.call(saver, options));
      }
      expect(walked).toBeGreaterThan(0);
    });
  }

  /** Puts checkpoints `names` (parent: `parentOf`), each with one write per channel in `writes`. */
  async function build(
    thread: string,
    names: string[],
    parentOf: Map<string, string>,
    storedAt: Record<string, readonly string[]>,
    channels: readonly string[],
  ) {
    const saver = made.saver;
    const ids = Array.from({ length: names.length }, (_, i) => uuid6(i)).sort();
    const idOf = new Map(names.map((n, i) => [n, ids[i] as string]));
    const at = (name?: string) => ({
      configurable: { thread_id: thread, checkpoint_ns: "", checkpoint_id: idOf.get(name ?? "") },
    });
    for (const [i, name] of names.entries()) {
      const values = Object.fromEntries(
        channels
          .filter((ch) => storedAt[ch]?.includes(name))
          .map((ch) => [ch, [`${ch} snapshot at ${name}`]]),
      );
      const versions = Object.fromEntries(channels.map((ch) => [ch, i + 1]));
      const checkpoint = {
        ...emptyCheckpoint(),
        id: idOf.get(name) as string,
        channel_values: values,
        channel_versions: versions,
      };
      const meta = { source: "loop" as const, step: i, parents: {} };
      await saver.put(at(parentOf.get(name)), checkpoint, meta, versions);
      await saver.putWrites(
        at(name),
        channels.map((ch) => [ch, `${ch} write at ${name}`]),
        `task-${name}`,
      );
    }
    return at;
  }

  it("equals the walk when channels have their seeds at different depths", async () => {
    const saver = made.saver;
    const names = Array.from({ length: 10 }, (_, i) => `c${i}`);
    const parentOf = new Map(names.slice(1).map((n, i) => [n, names[i] as string]));
    const storedAt = { a: ["c7", "c3"], b: ["c4"], c: [] as string[], d: ["c0"] };
    const at = await build("depths", names, parentOf, storedAt, ["a", "b", "c", "d"]);
    const many = Array.from({ length: 70 }, (_, i) => `x${i}`);
    for (const channels of [
      ["a"],
      ["b"],
      ["c"],
      ["a", "b"],
      ["b", "a"],
      ["a", "d"],
      ["a", "b", "c"],
      ["a", "b", "d"],
      // 8 channels (the most whose bits are one expression each), 10 (bits from a subquery), 72
      // (more than a row's 62 bits: versions looked up)
      [...many.slice(0, 5), "a", "c", "d"],
      [...many.slice(0, 8), "b", "a"],
      [...many, "a", "b"],
    ]) {
      for (const name of names) {
        const options = { config: at(name), channels };
        const { native, statements } = await historyCounted(saver, options);
        const label = `${channels.slice(-4).join(",")} at ${name}`;
        expect(statements, label).toBe(1);
        expect(native, label).toEqual(await oracle.call(saver, options));
      }
    }
  });

  it("equals the walk when the seed is where another branch's checkpoint comes next", async () => {
    const saver = made.saver;
    // r, x (a branch off r), a1, a2, a3 in id order: a1's parent is r, but x comes next below it
    const names = ["r", "x", "a1", "a2", "a3"];
    const parentOf = new Map([
      ["x", "r"],
      ["a1", "r"],
      ["a2", "a1"],
      ["a3", "a2"],
    ]);
    // the range statement answers when the seed is on the path above x; else the walk does
    const walks = new Set(["above a2", "below a2", "below a3"]);
    for (const [thread, stored] of [
      ["at", ["a1"]],
      ["above", ["a2"]],
      ["below", ["r"]],
    ] as const) {
      const at = await build(`seed-${thread}-break`, names, parentOf, { messages: stored }, [
        "messages",
      ]);
      for (const name of names) {
        const options = { config: at(name), channels: ["messages"] };
        const { native, statements } = await historyCounted(saver, options);
        const label = `${thread} ${name}`;
        expect(statements, label).toBe(walks.has(label) ? 2 : 1);
        expect(native, label).toEqual(await oracle.call(saver, options));
      }
    }
  });

  it("ignores writes whose checkpoint does not exist, as the walk does", async () => {
    const saver = made.saver;
    const config = { configurable: { thread_id: "orphans" } };
    await graph(saver).invoke({ n: 0 }, config);
    const ids: string[] = [];
    for await (const t of saver.list(config)) ids.push(t.config.configurable?.checkpoint_id);
    // an id that sorts between two ancestors of the head, and one below the oldest checkpoint
    for (const id of [`${ids[3]}~`, `${ids.at(-1)}`.slice(0, -1)]) {
      await saver.putWrites(
        { configurable: { thread_id: "orphans", checkpoint_ns: "", checkpoint_id: id } },
        [["messages", [new AIMessage({ id: `orphan-${id}`, content: "not on the path" })]]],
        "orphan-task",
      );
    }
    const options = { config, channels: ["messages"] };
    const native = await saver.getDeltaChannelHistory(options);
    expect(native.messages?.writes.length).toBe(6);
    expect(native).toEqual(await oracle.call(saver, options));
  });

  it("answers a channel asked for twice once", async () => {
    const saver = made.saver;
    const config = { configurable: { thread_id: "twice" } };
    await graph(saver).invoke({ n: 0 }, config);
    const options = { config, channels: ["messages", "messages", "n"] };
    const native = await saver.getDeltaChannelHistory(options);
    expect(native.messages?.writes.length).toBe(6);
    expect(native).toEqual(await oracle.call(saver, options));
  });

  it("ends the walk where an ancestor is missing, as the walk does", async () => {
    const saver = made.saver;
    for (const [thread, missing] of [
      ["no-parent", 1],
      ["no-grandparent", 2],
    ] as const) {
      const config = { configurable: { thread_id: thread } };
      await graph(saver).invoke({ n: 0 }, config);
      const ids: string[] = [];
      for await (const t of saver.list(config)) ids.push(t.config.configurable?.checkpoint_id);
      await saver.run(
        "test",
        `DELETE FROM ${saver.tables.checkpoints} WHERE thread_id = $1 AND checkpoint_id = $2`,
        [thread, ids[missing]],
      );
      const options = { config, channels: ["messages", "n"] };
      const native = await saver.getDeltaChannelHistory(options);
      expect(native.messages?.writes.length).toBe(missing - 1);
      expect(native).toEqual(await oracle.call(saver, options));
    }
  });
});

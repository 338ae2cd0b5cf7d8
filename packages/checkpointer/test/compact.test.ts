// Compact storage (`storage: "compact"`): the stored format, chain caps, cold caches, retention,
// conversion both ways, archive-style copies and broken chains, on Postgres and PGlite.
import { AIMessage } from "@langchain/core/messages";
import { END, MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import { type BaseCheckpointSaver, JsonPlusSerializer } from "@langchain/langgraph-checkpoint";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import pg from "pg";
import {
  deleteThreadRows,
  exportThreadRows,
  importThreadRows,
  PostgresCheckpointer,
  type PostgresCheckpointerOptions,
  THREAD_SECTIONS,
} from "../src/index.js";
import { toolLoopGraph, userSays } from "./graphs.js";
import { DATABASE_URL, dropSchema, pgUp, targets, uniqueSchema } from "./helpers.js";

const APPEND = "agentstate-append:";

/** One reply per turn: messages that serialize the same before and after a round trip. */
const chatGraph = (checkpointer: BaseCheckpointSaver) =>
  new StateGraph(MessagesAnnotation)
    .addNode("reply", (s: typeof MessagesAnnotation.State) => ({
      messages: [
        new AIMessage({ id: `ai-${s.messages.length}`, content: `reply ${"r".repeat(80)}` }),
      ],
    }))
    .addEdge(START, "reply")
    .addEdge("reply", END)
    .compile({ checkpointer });

/** Every checkpoint of a thread as JSON (values, versions, metadata, pending writes), newest first. */
async function dump(saver: BaseCheckpointSaver, thread: string): Promise<string> {
  const out: unknown[] = [];
  for await (const t of saver.list({ configurable: { thread_id: thread } })) {
    out.push([t.checkpoint, t.metadata, t.pendingWrites, t.parentConfig]);
  }
  return JSON.stringify(out);
}

describe.each(targets)("compact storage ($name)", (target) => {
  let made: Awaited<ReturnType<typeof target.create>>;
  let full: PostgresCheckpointer;
  const compact = (options: Omit<PostgresCheckpointerOptions, "schema"> = {}) =>
    new PostgresCheckpointer(full.db, undefined, {
      ...options,
      schema: full.options.schema,
      storage: "compact",
    });
  const blobRows = async (thread: string) =>
    (
      await full.db.query<{ type: string; version: string; bytes: number; head: string | null }>(
        `SELECT type, version, coalesce(octet_length(blob), 0)::int AS bytes,
           encode(substring(blob from 1 for 4), 'hex') AS head
         FROM ${full.tables.blobs} WHERE thread_id = $1 AND channel = 'messages'`,
        [thread],
      )
    ).rows;
  const run = (saver: PostgresCheckpointer, thread: string, rounds: number, text = "go") =>
    toolLoopGraph(saver, rounds).invoke(userSays(text), {
      configurable: { thread_id: thread },
      recursionLimit: 4 * rounds + 10,
    });

  beforeAll(async () => {
    made = await target.create();
    full = made.saver;
  });
  afterAll(() => made.dispose());

  it("stores each message once: full first rows, then appends naming their chain", async () => {
    const saver = compact();
    await run(saver, "c1", 20);
    await run(full, "f1", 20);
    const rows = await blobRows("c1");
    const appends = rows.filter((r) => r.type.startsWith(APPEND));
    // [human] and [human, ai] are stored whole: an append must be under half of the value
    const whole = rows.filter((r) => r.type === "json");
    expect(whole).toHaveLength(2);
    expect(appends).toHaveLength(rows.length - 2);
    const root = whole
      .map((r) => r.version)
      .sort((a, b) => a.length - b.length || (a < b ? -1 : 1))[1];
    for (const r of appends) {
      expect(r.type).toBe(APPEND + root);
      expect(r.head).toBe("00617331"); // "\0as1": no serializer parses it as JSON
    }
    const sum = (rs: Array<{ bytes: number }>) => rs.reduce((n, r) => n + r.bytes, 0);
    expect(sum(rows) * 5).toBeLessThan(sum(await blobRows("f1")));
    // The same state through a compact and a default-mode reader; values as the graph made them.
    expect(await dump(full, "c1")).toBe(await dump(saver, "c1"));
    const state = await toolLoopGraph(full, 20).getState({ configurable: { thread_id: "c1" } });
    expect(state.values.messages).toHaveLength(1 + 20 * 2 + 1);
  });

  it("caps chains at compactMaxChain; a cold cache starts a new chain; a restarted thread too", async () => {
    const saver = compact({ compactMaxChain: 4 });
    await run(saver, "c2", 10);
    const chains = new Map<string, number>();
    for (const r of await blobRows("c2"))
      if (r.type.startsWith(APPEND)) chains.set(r.type, (chains.get(r.type) ?? 0) + 1);
    expect(Math.max(...chains.values())).toBe(4);
    expect(chains.size).toBeGreaterThan(3);
    // Another process (empty cache) continues the thread: its first value is stored whole.
    const before = (await blobRows("c2")).filter((r) => r.type === "json").length;
    await run(compact(), "c2", 12, "more");
    expect((await blobRows("c2")).filter((r) => r.type === "json").length).toBe(before + 1);
    expect(await dump(full, "c2")).toBe(await dump(saver, "c2"));
    // Deleted elsewhere and started again under the same id: nothing builds on the old rows.
    await full.deleteThread("c2");
    await run(saver, "c2", 3);
    expect(await dump(full, "c2")).toBe(await dump(saver, "c2"));
    const restarted = await blobRows("c2");
    const versions = new Set(restarted.map((r) => r.version));
    for (const r of restarted.filter((x) => x.type.startsWith(APPEND)))
      expect(versions.has(r.type.slice(APPEND.length))).toBe(true);
  });

  it("prune keeps the chains of kept values; the state survives", async () => {
    const saver = compact();
    await run(saver, "c3", 15);
    const graph = toolLoopGraph(full, 15);
    const config = { configurable: { thread_id: "c3" } };
    const before = (await graph.getState(config)).values;
    const appends = async () => (await blobRows("c3")).filter((r) => r.type.startsWith(APPEND));
    const chain = (await appends()).length;
    const dry = await saver.prune({ keepLatest: 1, threadIds: ["c3"], dryRun: true });
    const result = await saver.prune({ keepLatest: 1, threadIds: ["c3"] });
    expect(result.blobsDeleted).toBe(dry.blobsDeleted);
    expect(result.checkpointsDeleted).toBeGreaterThan(0);
    expect((await graph.getState(config)).values).toEqual(before);
    // every message row the kept head builds on is still there (one chain: all of them)
    expect(chain).toBeGreaterThan(25);
    expect((await appends()).length).toBe(chain);
  });

  it("compactThread and expandThread convert both ways; values never change", async () => {
    await run(full, "c4", 12);
    const original = await dump(full, "c4");
    const fullBytes = (await blobRows("c4")).reduce((n, r) => n + r.bytes, 0);
    const dry = await full.compactThread("c4", { dryRun: true });
    expect(dry.rows).toBeGreaterThan(20);
    expect((await blobRows("c4")).some((r) => r.type.startsWith(APPEND))).toBe(false);
    const done = await full.compactThread("c4");
    expect(done).toEqual(dry);
    expect(done.bytesAfter * 4).toBeLessThan(done.bytesBefore);
    expect(await dump(full, "c4")).toBe(original);
    expect((await full.compactThread("c4")).rows).toBe(0); // idempotent
    const expanded = await full.expandThread("c4");
    expect(expanded.rows).toBe(done.rows);
    expect((await blobRows("c4")).reduce((n, r) => n + r.bytes, 0)).toBe(fullBytes);
    expect(await dump(full, "c4")).toBe(original);
  });

  it("a thread converted while a compact writer appends stays readable, also after prune", async () => {
    const writer = compact();
    const config = { configurable: { thread_id: "c5" } };
    const graph = chatGraph(writer);
    const turns = async (from: number, to: number) => {
      for (let i = from; i < to; i += 1) await graph.invoke(userSays(`turn ${i}`), config);
    };
    await turns(0, 10);
    await full.expandThread("c5"); // the writer's cached base is now a full row of no chain
    await turns(10, 20);
    // its new appends build on a row outside their chain: the read fetches it in a second query
    const ops: string[] = [];
    const stop = full.onOperation((e) => ops.push(e.operation));
    await full.getTuple(config);
    stop();
    expect(ops).toEqual(["getTuple", "getTuple"]);
    expect(await dump(writer, "c5")).toBe(await dump(full, "c5"));
    await full.compactThread("c5"); // and now its base may be an append of another chain
    await turns(20, 30);
    const state = (await chatGraph(full).getState(config)).values;
    expect(state.messages).toHaveLength(60);
    await full.prune({ keepLatest: 1, threadIds: ["c5"] });
    expect((await chatGraph(full).getState(config)).values).toEqual(state);
  });

  it("copies and archive-style export/delete/import keep compact rows verbatim", async () => {
    const saver = compact();
    await run(saver, "c6", 6);
    const original = await dump(full, "c6");
    await full.copyThread("c6", "c6-copy");
    expect(await dump(full, "c6-copy")).toBe(original.replaceAll('"c6"', '"c6-copy"'));
    const exported = await exportThreadRows(full.db, full.tables, "c6");
    await full.db.transaction(async (tx) => {
      await deleteThreadRows(tx, full.tables, "c6");
      for (const section of THREAD_SECTIONS) {
        const rows = exported.sections[section];
        if (rows.length === 0) continue;
        const columns = Object.keys(JSON.parse(rows[0] as string));
        await importThreadRows(tx, full.tables, section, columns, rows);
      }
    });
    expect(await dump(full, "c6")).toBe(original);
  });

  it("a chain whose base was deleted outside agentstate fails with BROKEN_CHAIN", async () => {
    const saver = compact();
    await run(saver, "c7", 4);
    await full.db.query(
      `DELETE FROM ${full.tables.blobs} WHERE thread_id = 'c7' AND channel = 'messages' AND type = 'json'`,
    );
    await expect(full.getTuple({ configurable: { thread_id: "c7" } })).rejects.toMatchObject({
      code: "BROKEN_CHAIN",
    });
  });

  it("rejects an unknown storage option", () => {
    expect(() => compact({ storage: "zip" as never })).not.toThrow(); // overridden by compact()
    expect(() => new PostgresCheckpointer(full.db, undefined, { storage: "zip" as never })).toThrow(
      expect.objectContaining({ code: "INVALID_CONFIG" }),
    );
    expect(() => compact({ compactMaxChain: 0 })).toThrow(
      expect.objectContaining({ code: "INVALID_CONFIG" }),
    );
  });
});

// The official saver meets a compact thread: a clear error, never a wrong value; after
// `expandThread` it reads and continues the thread, and a thread it wrote can be compacted.
describe.skipIf(!pgUp)("compact storage and the official PostgresSaver", () => {
  const schema = uniqueSchema("cofficial");
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 4 });
  const ours = new PostgresCheckpointer(pool, undefined, { schema, storage: "compact" });
  const official = new PostgresSaver(pool, undefined, { schema });
  const config = { configurable: { thread_id: "o1" } };
  const values = async (saver: BaseCheckpointSaver, thread = "o1") => {
    const out: unknown[] = [];
    // key order differs between the savers' readers; the values must not
    for await (const t of saver.list({ configurable: { thread_id: thread } }))
      out.push([t.checkpoint.id, Object.entries(t.checkpoint.channel_values).sort()]);
    return JSON.stringify(out);
  };

  beforeAll(async () => {
    await ours.setup();
    for (let i = 0; i < 12; i += 1) await chatGraph(ours).invoke(userSays(`turn ${i}`), config);
  });
  afterAll(async () => {
    await dropSchema(schema, pool);
    await pool.end();
  });

  it("throws on a compact thread instead of returning a value", async () => {
    const unknown = /Unknown serialization type: agentstate-append:/;
    await expect(official.getTuple(config)).rejects.toThrow(unknown);
    await expect(chatGraph(official).getState(config)).rejects.toThrow(unknown);
    const listing = async () => {
      for await (const _ of official.list(config));
    };
    await expect(listing()).rejects.toThrow(unknown);
    // A serializer that ignores the type tag still cannot parse a compact row.
    const json = new JsonPlusSerializer();
    const careless = new PostgresSaver(
      pool,
      { dumpsTyped: (v) => json.dumpsTyped(v), loadsTyped: (_t, d) => json.loadsTyped("json", d) },
      { schema },
    );
    await expect(careless.getTuple(config)).rejects.toThrow(SyntaxError);
  });

  it("reads and continues the thread after expandThread; ours reads what it wrote", async () => {
    const before = await values(ours);
    await ours.expandThread("o1");
    expect(await values(official)).toBe(before);
    await chatGraph(official).invoke(userSays("from the official saver"), config);
    expect(await values(ours)).toBe(await values(official));
    await chatGraph(ours).invoke(userSays("and back"), config);
    const state = await chatGraph(ours).getState(config);
    expect(state.values.messages).toHaveLength(28);
  });

  it("a thread the official saver wrote is compacted, and reads the same", async () => {
    const thread = { configurable: { thread_id: "o2" } };
    for (let i = 0; i < 12; i += 1) await chatGraph(official).invoke(userSays(`t${i}`), thread);
    const before = await values(official, "o2");
    const result = await ours.compactThread("o2");
    expect(result.bytesAfter * 3).toBeLessThan(result.bytesBefore);
    expect(await values(ours, "o2")).toBe(before);
  });
});

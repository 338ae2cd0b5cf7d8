// Issue 14.7: bad input is refused up front with INVALID_ARGUMENT and the limit, never raw or aliased.
import { randomBytes } from "node:crypto";
import type { RunnableConfig } from "@langchain/core/runnables";
import { emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import pg from "pg";
import { CheckpointerError, PostgresCheckpointer } from "../src/index.js";
import { KEY_LIMITS, MAX_JSON_DEPTH } from "../src/input.js";
import { targets } from "./helpers.js";

const meta = { source: "input" as const, step: -1, parents: {} };
/** Metadata with extra keys, as LangGraph copies them in from config.metadata. */
const md = (extra: Record<string, unknown>) => ({ ...meta, ...extra }) as typeof meta;
const cp = () => ({ ...emptyCheckpoint(), id: uuid6(0) });
/** Incompressible text of exactly `bytes` UTF-8 bytes (Postgres compresses repetitive keys). */
const noise = (bytes: number) => randomBytes(bytes).toString("base64").slice(0, bytes);
const nested = (depth: number) => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i += 1) value = { a: value };
  return value;
};
const LONE = "id-\ud800";

async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

function rejection(operation: string, message: RegExp) {
  return { name: "CheckpointerError", code: "INVALID_ARGUMENT", operation, message };
}

describe.each(targets)("bad input ($name)", (target) => {
  let made: Awaited<ReturnType<typeof target.create>>;
  let saver: PostgresCheckpointer;
  beforeAll(async () => {
    made = await target.create();
    saver = made.saver;
  });
  afterAll(() => made.dispose());
  afterEach(async () => {
    // every case is refused before the database: nothing was written
    expect((await saver.getCheckpointStats()).totalCheckpoints).toBe(0);
  });

  it("a lone surrogate in metadata (JSONB would fail with 22P02)", async () => {
    await expect(
      saver.put({ configurable: { thread_id: "t" } }, cp(), md({ note: "x\ud800y" }), {}),
    ).rejects.toMatchObject(rejection("put", /metadata .*lone UTF-16 surrogate/));
  });

  it("a lone surrogate in a list filter (22P02)", async () => {
    await expect(
      all(saver.list({ configurable: { thread_id: "t" } }, { filter: { note: "\udc00" } })),
    ).rejects.toMatchObject(rejection("list", /filter .*lone UTF-16 surrogate/));
  });

  it("a 10 KB thread id (54000: index row too large)", async () => {
    await expect(
      saver.put({ configurable: { thread_id: noise(10_000) } }, cp(), meta, {}),
    ).rejects.toMatchObject(rejection("put", /thread_id is 10000 bytes; the limit is 512 bytes/));
  });

  it("a 5 KB checkpoint_ns (btree row size)", async () => {
    await expect(
      saver.put({ configurable: { thread_id: "t", checkpoint_ns: noise(5000) } }, cp(), meta, {}),
    ).rejects.toMatchObject(rejection("put", /checkpoint_ns is 5000 bytes; the limit is 1024/));
  });

  it("metadata nested 5,000 deep (unreadable afterwards: RangeError)", async () => {
    await expect(
      saver.put({ configurable: { thread_id: "t" } }, cp(), md({ deep: nested(5000) }), {}),
    ).rejects.toMatchObject(rejection("put", /metadata is nested more than 256 levels/));
    await expect(
      all(saver.list({ configurable: { thread_id: "t" } }, { filter: { deep: nested(5000) } })),
    ).rejects.toMatchObject(rejection("list", /filter is nested more than 256 levels/));
  });

  it("a lone surrogate in a thread id (would alias: both halves become U+FFFD)", async () => {
    for (const id of ["a\ud800", "a\udc00"]) {
      await expect(
        saver.put({ configurable: { thread_id: id } }, cp(), meta, {}),
      ).rejects.toMatchObject(rejection("put", /thread_id contains a lone UTF-16 surrogate/));
    }
  });

  it('an object thread id (would be stored as "[object Object]")', async () => {
    await expect(
      saver.put({ configurable: { thread_id: { user: 1 } } }, cp(), meta, {}),
    ).rejects.toMatchObject(rejection("put", /thread_id must be a string .*got an object/));
  });

  it("every method refuses bad thread ids the same way", async () => {
    const calls: Array<[string, (id: unknown) => Promise<unknown>]> = [
      ["put", (id) => saver.put({ configurable: { thread_id: id } }, cp(), meta, {})],
      [
        "putWrites",
        (id) =>
          saver.putWrites(
            { configurable: { thread_id: id, checkpoint_ns: "", checkpoint_id: "c" } },
            [["x", 1]],
            "task",
          ),
      ],
      ["getTuple", (id) => saver.getTuple({ configurable: { thread_id: id } })],
      ["list", (id) => all(saver.list({ configurable: { thread_id: id } }))],
      [
        "getDeltaChannelHistory",
        (id) =>
          saver.getDeltaChannelHistory({
            config: { configurable: { thread_id: id } },
            channels: ["m"],
          }),
      ],
      ["deleteThread", (id) => saver.deleteThread(id as string)],
      ["copyThread", (id) => saver.copyThread("source", id as string)],
      ["prune", (id) => saver.prune({ keepLatest: 1, threadIds: [id as string] })],
    ];
    for (const [operation, call] of calls) {
      for (const id of [LONE, [1], noise(600)]) {
        const error = await call(id).catch((e: unknown) => e);
        expect(error, `${operation}(${String(id).slice(0, 10)})`).toBeInstanceOf(CheckpointerError);
        expect(error).toMatchObject({ code: "INVALID_ARGUMENT", operation });
      }
    }
  });

  it("other keys of a write: task id, channel name", async () => {
    const config = { configurable: { thread_id: "t", checkpoint_ns: "", checkpoint_id: "c" } };
    await expect(saver.putWrites(config, [["x", 1]], noise(300))).rejects.toMatchObject(
      rejection("putWrites", /task_id is 300 bytes; the limit is 256/),
    );
    await expect(saver.putWrites(config, [[`ch${LONE}`, 1]], "task")).rejects.toMatchObject(
      rejection("putWrites", /channel contains a lone UTF-16 surrogate/),
    );
    await expect(saver.putWrites(config, [["x", 1]], "task", LONE)).rejects.toMatchObject(
      rejection("putWrites", /task_path contains a lone UTF-16 surrogate/),
    );
  });
});

describe.each(targets)("input at the limits ($name)", (target) => {
  let made: Awaited<ReturnType<typeof target.create>>;
  beforeAll(async () => {
    made = await target.create();
  });
  afterAll(() => made.dispose());

  it("every key at its byte limit at once still fits Postgres' index rows and reads back", async () => {
    const { saver } = made;
    // multi-byte characters: the limit counts UTF-8 bytes, not string length
    const threadId = `é${noise(KEY_LIMITS.thread_id - 2)}`;
    const ns = noise(KEY_LIMITS.checkpoint_ns);
    const channel = noise(KEY_LIMITS.channel);
    const version = noise(KEY_LIMITS.version);
    const checkpoint = {
      ...emptyCheckpoint(),
      id: noise(KEY_LIMITS.checkpoint_id),
      channel_values: { [channel]: "v" },
      channel_versions: { [channel]: version },
    };
    const config = await saver.put(
      { configurable: { thread_id: threadId, checkpoint_ns: ns } },
      checkpoint,
      md({ deep: nested(MAX_JSON_DEPTH - 2) }),
      { [channel]: version },
    );
    await saver.putWrites(config, [[channel, "w"]], noise(KEY_LIMITS.task_id));
    const tuple = await saver.getTuple(config);
    expect(tuple?.checkpoint.channel_values).toEqual({ [channel]: "v" });
    expect(tuple?.pendingWrites?.map((w) => w[2])).toEqual(["w"]);
    expect(tuple?.metadata).toMatchObject({ deep: nested(MAX_JSON_DEPTH - 2) });
  });

  it("a number thread id is accepted as its decimal text, as the official saver does", async () => {
    const { saver } = made;
    await saver.put({ configurable: { thread_id: 42 } }, cp(), meta, {});
    const byText: RunnableConfig = { configurable: { thread_id: "42" } };
    expect((await saver.getTuple(byText))?.config.configurable?.thread_id).toBe("42");
  });
});

describe("schema names Postgres reserves", () => {
  it("pg_temp (42939 on CREATE SCHEMA; per connection otherwise) is refused up front", () => {
    for (const schema of ["pg_temp", "pg_catalog", "pg_x"]) {
      expect(() => new PostgresCheckpointer(new pg.Pool(), undefined, { schema })).toThrow(
        expect.objectContaining({
          code: "INVALID_SCHEMA_NAME",
          message: expect.stringMatching(/starts with "pg_", which Postgres reserves/),
        }),
      );
    }
  });
});

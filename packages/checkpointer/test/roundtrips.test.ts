import { PGlite } from "@electric-sql/pglite";
import { emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import pg from "pg";
import {
  type Database,
  PGliteDatabase,
  PgPoolDatabase,
  PostgresCheckpointer,
  type QueryOptions,
} from "../src/index.js";
import { toolLoopGraph, userSays } from "./graphs.js";
import { DATABASE_URL, dropSchema, pgUp, uniqueSchema } from "./helpers.js";

/** Wraps the seam and records every statement that reaches the server. */
class CountingDatabase implements Database {
  readonly statements: string[] = [];
  constructor(private readonly inner: Database) {}
  get kind() {
    return this.inner.kind;
  }
  query<R>(text: string, params?: readonly unknown[], options?: QueryOptions) {
    // The first two words; an INSERT's table too (a put without blobs, a task's writes).
    const words = text.trim().split(/\s+/);
    this.statements.push(words.slice(0, words[0] === "INSERT" ? 3 : 2).join(" "));
    return this.inner.query<R>(text, params, options);
  }
  transaction<T>(
    fn: Parameters<Database["transaction"]>[0] extends (tx: infer Q) => Promise<unknown>
      ? (tx: Q) => Promise<T>
      : never,
  ) {
    this.statements.push("BEGIN");
    return this.inner.transaction(fn);
  }
  end() {
    return this.inner.end();
  }
  take(): string[] {
    return this.statements.splice(0);
  }
}

const kinds = [
  ...(pgUp
    ? [
        {
          name: "postgres",
          make: async () => {
            const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
            const schema = uniqueSchema("rt");
            return {
              db: new PgPoolDatabase(pool, true),
              schema,
              cleanup: () => dropSchema(schema, pool),
            };
          },
        },
      ]
    : []),
  {
    name: "pglite",
    make: async () => ({
      db: new PGliteDatabase(await PGlite.create("memory://"), true),
      schema: "public",
      cleanup: async () => {},
    }),
  },
];

describe.each(kinds)("round trips ($name)", ({ make }) => {
  let counting: CountingDatabase;
  let saver: PostgresCheckpointer;
  let cleanup: () => Promise<unknown>;

  beforeAll(async () => {
    const made = await make();
    counting = new CountingDatabase(made.db);
    cleanup = made.cleanup;
    saver = new PostgresCheckpointer(counting, undefined, {
      schema: made.schema,
      listPageSize: 10,
    });
    await saver.setup();
  });
  afterAll(async () => {
    await cleanup();
    await saver.end();
  });

  it("setup on a current schema costs one query", async () => {
    counting.take();
    const again = new PostgresCheckpointer(counting, undefined, { schema: saver.options.schema });
    await again.setup();
    expect(counting.take()).toHaveLength(1);
  });

  it("put, putWrites and getTuple are one statement each, with no BEGIN/COMMIT", async () => {
    const cp = {
      ...emptyCheckpoint(),
      id: uuid6(0),
      channel_values: { a: "x", b: [1, 2] },
      channel_versions: { a: 1, b: 1 },
    };
    counting.take();
    const config = await saver.put(
      { configurable: { thread_id: "rt", checkpoint_ns: "" } },
      cp,
      { source: "input", step: -1, parents: {} },
      { a: 1, b: 1 },
    );
    expect(counting.take()).toEqual(["WITH b"]);
    await saver.putWrites(
      config,
      [
        ["a", "y"],
        ["__error__", "boom"],
        ["b", 3],
      ],
      "task-1",
    );
    // The special write's upsert on top, the regular writes in a WITH clause.
    expect(counting.take()).toEqual(["WITH r"]);
    const tuple = await saver.getTuple(config);
    expect(counting.take()).toEqual(["WITH cp"]);
    expect(tuple?.checkpoint.channel_values).toEqual({ a: "x", b: [1, 2] });
    expect(tuple?.pendingWrites).toHaveLength(3);
  });

  it("a whole graph run does one statement per checkpoint and per task's writes", async () => {
    const graph = toolLoopGraph(saver, 3);
    counting.take();
    await graph.invoke(userSays("hi"), {
      configurable: { thread_id: "rt-graph" },
      durability: "sync",
    });
    const statements = counting.take();
    expect(statements.filter((s) => s === "BEGIN")).toEqual([]);
    const puts = statements.filter(
      (s) => s === "WITH b" || /^INSERT INTO \S*checkpoints"$/.test(s),
    );
    const checkpoints = [];
    for await (const t of saver.list({ configurable: { thread_id: "rt-graph" } }))
      checkpoints.push(t);
    expect(puts).toHaveLength(checkpoints.length);
  });

  it("list() streams in keyset pages of listPageSize", async () => {
    for (let i = 0; i < 25; i += 1) {
      const cp = {
        ...emptyCheckpoint(),
        id: uuid6(i),
        channel_values: { n: i },
        channel_versions: { n: i + 1 },
      };
      await saver.put(
        { configurable: { thread_id: "rt-list", checkpoint_ns: "" } },
        cp,
        { source: "loop", step: i, parents: {} },
        { n: i + 1 },
      );
    }
    counting.take();
    const seen: unknown[] = [];
    for await (const t of saver.list({ configurable: { thread_id: "rt-list" } }, { limit: 23 })) {
      seen.push(t.checkpoint.channel_values.n);
      if (seen.length === 1) expect(counting.take()).toHaveLength(1); // first page only, not everything
    }
    expect(seen).toEqual(Array.from({ length: 23 }, (_, i) => 24 - i));
    expect(counting.take()).toHaveLength(2); // pages 2 and 3
  });
});

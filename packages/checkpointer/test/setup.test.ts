import { emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import pg from "pg";
import {
  CheckpointerError,
  describeTarget,
  getCheckpointer,
  latestVersion,
  PostgresCheckpointer,
  tablesFor,
} from "../src/index.js";
import { adminPool, DATABASE_URL, pgUp, targets, uniqueSchema } from "./helpers.js";

describe.skipIf(!pgUp)("setup() on a real server", () => {
  const admin = adminPool();
  const schemas: string[] = [];
  afterAll(async () => {
    for (const s of schemas)
      await admin.query(`DROP SCHEMA IF EXISTS ${tablesFor(s).schema} CASCADE`);
    await admin.end();
  });

  it("8 concurrent setup() calls on a fresh schema, each on its own pool, all succeed", async () => {
    const schema = uniqueSchema("race");
    schemas.push(schema);
    const savers = Array.from(
      { length: 8 },
      () =>
        new PostgresCheckpointer(
          new pg.Pool({ connectionString: DATABASE_URL, max: 1 }),
          undefined,
          { schema, endPool: true },
        ),
    );
    const results = await Promise.allSettled(savers.map((s) => s.setup()));
    await Promise.all(savers.map((s) => s.end()));
    expect(results.filter((r) => r.status === "rejected")).toEqual([]);
    const { rows } = await admin.query(
      `SELECT array_agg(v ORDER BY v) AS vs FROM "${schema}".checkpoint_migrations`,
    );
    expect(rows[0].vs).toEqual(
      Array.from({ length: latestVersion(tablesFor(schema)) + 1 }, (_, i) => i),
    );
  });

  const hostile = ['a"; DROP TABLE pg_class; --', "with space", "UPPER", "ünïcødé", "x'y", 'q""q'];
  it.each(hostile)("a hostile schema name is quoted safely: %s", async (schema) => {
    schemas.push(schema);
    const saver = await getCheckpointer({ connectionString: DATABASE_URL, schema });
    try {
      const cp = {
        ...emptyCheckpoint(),
        id: uuid6(0),
        channel_values: { a: 1 },
        channel_versions: { a: 1 },
      };
      const config = await saver.put(
        { configurable: { thread_id: "t" } },
        cp,
        { source: "input", step: -1, parents: {} },
        { a: 1 },
      );
      expect((await saver.getTuple(config))?.checkpoint.channel_values).toEqual({ a: 1 });
      const { rows } = await admin.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema]);
      expect(rows).toHaveLength(1);
    } finally {
      await saver.end();
    }
  });

  it("createSchema: false on a missing schema fails with a clear error", async () => {
    const schema = uniqueSchema("nocreate");
    const err = await getCheckpointer({
      connectionString: DATABASE_URL,
      schema,
      createSchema: false,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(CheckpointerError);
    expect(err.code).toBe("NOT_SET_UP");
    expect(err.message).toContain("CREATE SCHEMA");
  });

  it("the pool a caller passed in is not ended by end()", async () => {
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
    const schema = uniqueSchema("owned");
    schemas.push(schema);
    const saver = await getCheckpointer({ pool, schema });
    await saver.end();
    expect((await pool.query("SELECT 1 AS one")).rows[0].one).toBe(1);
    await pool.end();
  });

  it("a malformed or unreachable connection string is a clear error", async () => {
    await expect(getCheckpointer({ connectionString: "not a url" })).rejects.toMatchObject({
      code: "INVALID_CONFIG",
    });
    const err = await getCheckpointer({
      connectionString: "postgres://u:secret@127.0.0.1:1/db",
    }).catch((e) => e);
    expect(err.code).toBe("CONNECTION_LOST");
    expect(err.message).not.toContain("secret");
  });
});

describe.each(targets)("identifiers and bad input ($name)", (target) => {
  it("rejects schema names that cannot be valid", () => {
    for (const bad of ["", "nul\u0000byte", "x".repeat(64)]) {
      expect(() => new PostgresCheckpointer(new pg.Pool(), undefined, { schema: bad })).toThrow(
        CheckpointerError,
      );
    }
  });

  it("rejects NUL in thread ids with a clear error and writes nothing", async () => {
    const { saver, dispose } = await target.create();
    try {
      const cp = { ...emptyCheckpoint(), id: uuid6(0) };
      await expect(
        saver.put(
          { configurable: { thread_id: "a\u0000b" } },
          cp,
          { source: "input", step: -1, parents: {} },
          {},
        ),
      ).rejects.toMatchObject({
        code: "INVALID_ARGUMENT",
      });
      expect((await saver.getCheckpointStats()).totalCheckpoints).toBe(0);
    } finally {
      await dispose();
    }
  });
});

describe("getCheckpointer() environment fallbacks", () => {
  it("takes the schema from AGENTSTATE_SCHEMA, as the CLI does", async () => {
    const before = process.env.AGENTSTATE_SCHEMA;
    process.env.AGENTSTATE_SCHEMA = "from_env";
    try {
      const saver = await getCheckpointer({ dataDir: ":memory:" });
      expect(saver.tables.checkpoints).toBe('"from_env".checkpoints');
      await saver.end();
    } finally {
      if (before === undefined) delete process.env.AGENTSTATE_SCHEMA;
      else process.env.AGENTSTATE_SCHEMA = before;
    }
  });
});

describe("getCheckpointer() precedence", () => {
  it("an explicit dataDir beats DATABASE_URL from the environment; connectionString beats both", () => {
    const before = process.env.DATABASE_URL;
    process.env.DATABASE_URL = "postgres://u:secret@127.0.0.1:5432/env";
    try {
      expect(describeTarget({ dataDir: ":memory:" })).toEqual({
        kind: "pglite",
        location: "memory://",
      });
      expect(describeTarget({})).toEqual({
        kind: "postgres",
        location: "postgres://u:***@127.0.0.1:5432/env",
      });
      expect(
        describeTarget({ dataDir: ":memory:", connectionString: "postgres://x@h/db" }).kind,
      ).toBe("postgres");
    } finally {
      if (before === undefined) delete process.env.DATABASE_URL;
      else process.env.DATABASE_URL = before;
    }
  });
});

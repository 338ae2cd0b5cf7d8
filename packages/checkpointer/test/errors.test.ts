// Issue 8.1: every statement path turns a database error into a CheckpointerError (code, operation, hint, cause).
import { randomBytes } from "node:crypto";
import { emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import pg from "pg";
import {
  CheckpointerError,
  type CheckpointerErrorCode,
  PostgresCheckpointer,
} from "../src/index.js";
import { adminPool, DATABASE_URL, pgUp, targets, uniqueSchema } from "./helpers.js";

const meta = { source: "input" as const, step: -1, parents: {} };
const cp = () => ({
  ...emptyCheckpoint(),
  id: uuid6(0),
  channel_values: { v: 1 },
  channel_versions: { v: 1 },
});
const at = (thread_id: string) => ({
  configurable: { thread_id, checkpoint_ns: "", checkpoint_id: "c1" },
});

async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** One call per public method that sends a statement, named as the error must name it. */
function operations(
  saver: PostgresCheckpointer,
  thread = "t",
): Array<[string, () => Promise<unknown>]> {
  return [
    [
      "setup",
      () => new PostgresCheckpointer(saver.db, undefined, { schema: saver.options.schema }).setup(),
    ],
    ["put", () => saver.put({ configurable: { thread_id: thread } }, cp(), meta, { v: 1 })],
    [
      "putWrites",
      () =>
        saver.putWrites(
          at(thread),
          [
            ["v", 2],
            ["__error__", "e"],
          ],
          "task",
        ),
    ],
    ["getTuple", () => saver.getTuple({ configurable: { thread_id: thread } })],
    ["list", () => all(saver.list({ configurable: { thread_id: thread } }))],
    [
      "getDeltaChannelHistory",
      () =>
        saver.getDeltaChannelHistory({
          config: { configurable: { thread_id: thread } },
          channels: ["v"],
        }),
    ],
    ["deleteThread", () => saver.deleteThread(thread)],
    ["copyThread", () => saver.copyThread(thread, `${thread}-copy`)],
    ["prune", () => saver.prune({ keepLatest: 1 })],
    ["listThreads", () => saver.listThreads()],
    ["getCheckpointStats", () => saver.getCheckpointStats()],
  ];
}

/** Asserts the wrapped shape; returns the driver error. */
async function expectWrapped(
  call: Promise<unknown>,
  code: CheckpointerErrorCode,
  operation: string,
  sqlState?: RegExp,
) {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `${operation} should fail with ${code}`).toBeInstanceOf(CheckpointerError);
  const e = error as CheckpointerError;
  expect({ code: e.code, operation: e.operation }).toEqual({ code, operation });
  expect(e.message.startsWith(`${operation}(): `)).toBe(true);
  expect(e.cause).toBeInstanceOf(Error);
  expect(e.cause).not.toBeInstanceOf(CheckpointerError);
  if (sqlState) expect((e.cause as { code?: string }).code).toMatch(sqlState);
  return e.cause as Error & { code?: string };
}

describe.each(targets)("database errors reach the caller wrapped ($name)", (target) => {
  let made: Awaited<ReturnType<typeof target.create>>;
  let saver: PostgresCheckpointer;
  beforeAll(async () => {
    made = await target.create();
    saver = made.saver;
    const t = saver.tables;
    // what a DBA might add to these tables; the checkpointer's input checks cannot foresee it
    await saver.db.query(`CREATE FUNCTION ${t.schema}.test_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.thread_id = 'boom' THEN RAISE EXCEPTION 'refused by a test trigger'; END IF;
        IF NEW.thread_id LIKE 'num:%' THEN PERFORM substr(NEW.thread_id, 5)::int; END IF;
        RETURN NEW;
      END $$`);
    for (const table of [t.checkpoints, t.writes]) {
      await saver.db.query(
        `CREATE TRIGGER test_guard BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION ${t.schema}.test_guard()`,
      );
    }
    for (const table of [t.checkpoints, t.blobs, t.writes]) {
      await saver.db.query(
        `ALTER TABLE ${table} ADD CONSTRAINT not_forbidden CHECK (thread_id <> 'forbidden')`,
      );
    }
    await saver.put({ configurable: { thread_id: "source" } }, cp(), meta, { v: 1 });
  });
  afterAll(() => made.dispose());

  it("a constraint violation: CONSTRAINT_VIOLATION, nothing written", async () => {
    await expectWrapped(
      saver.put({ configurable: { thread_id: "forbidden" } }, cp(), meta, { v: 1 }),
      "CONSTRAINT_VIOLATION",
      "put",
      /^23514$/,
    );
    await expectWrapped(
      saver.putWrites(at("forbidden"), [["v", 1]], "task"),
      "CONSTRAINT_VIOLATION",
      "putWrites",
      /^23514$/,
    );
    await expectWrapped(
      saver.copyThread("source", "forbidden"),
      "CONSTRAINT_VIOLATION",
      "copyThread",
      /^23514$/,
    );
    expect(await saver.getTuple({ configurable: { thread_id: "forbidden" } })).toBeUndefined();
  });

  it("a value Postgres rejects (22P02 from a cast): INVALID_ARGUMENT", async () => {
    await expectWrapped(
      saver.put({ configurable: { thread_id: "num:abc" } }, cp(), meta, {}),
      "INVALID_ARGUMENT",
      "put",
      /^22P02$/,
    );
  });

  it("any other failure (an exception raised by a trigger): QUERY_FAILED", async () => {
    const cause = await expectWrapped(
      saver.putWrites(at("boom"), [["v", 1]], "task"),
      "QUERY_FAILED",
      "putWrites",
      /^P0001$/,
    );
    expect(cause.message).toBe("refused by a test trigger");
  });

  it("tables that are not set up: NOT_SET_UP, on reads and writes", async () => {
    const bare =
      target.name === "pglite"
        ? new PostgresCheckpointer(saver.db, undefined, { schema: "never_set_up" })
        : new PostgresCheckpointer(saver.db, undefined, { schema: uniqueSchema("bare") });
    for (const [operation, call] of operations(bare)) {
      if (operation === "setup") continue; // it would create them
      await expectWrapped(call(), "NOT_SET_UP", operation, /^(42P01|3F000)$/);
    }
  });

  it("a role without privileges: PERMISSION_DENIED", async () => {
    const role = `agentstate_noperm_${randomBytes(4).toString("hex")}`;
    const admin = target.name === "postgres" ? adminPool() : undefined;
    let restricted: PostgresCheckpointer;
    if (admin) {
      await admin.query(`CREATE ROLE "${role}" LOGIN`);
      const url = new URL(DATABASE_URL);
      url.username = role;
      restricted = new PostgresCheckpointer(
        new pg.Pool({ connectionString: url.toString(), max: 1 }),
        undefined,
        { schema: saver.options.schema, endPool: true },
      );
    } else {
      // PGlite is one session: switch its role for the duration
      await saver.db.query(`CREATE ROLE "${role}"`);
      await saver.db.query(`SET ROLE "${role}"`);
      restricted = new PostgresCheckpointer(saver.db, undefined, { schema: saver.options.schema });
    }
    try {
      for (const [operation, call] of operations(restricted)) {
        await expectWrapped(call(), "PERMISSION_DENIED", operation, /^42501$/);
      }
    } finally {
      if (admin) {
        await restricted.end();
        await admin.query(`DROP ROLE "${role}"`);
        await admin.end();
      } else {
        await saver.db.query("RESET ROLE");
      }
    }
  });
});

/** Holds ACCESS EXCLUSIVE locks on every table of the schema from another session. */
async function lockTables(admin: pg.Pool, saver: PostgresCheckpointer) {
  const t = saver.tables;
  const client = await admin.connect();
  await client.query("BEGIN");
  await client.query(
    `LOCK TABLE ${t.checkpoints}, ${t.blobs}, ${t.writes}, ${t.migrations}, ${t.runs}, ${t.receipts} IN ACCESS EXCLUSIVE MODE`,
  );
  return async () => {
    await client.query("ROLLBACK");
    client.release();
  };
}

/** A checkpointer on its own pool whose sessions carry `options` (e.g. `-c lock_timeout=50`). */
function saverWith(schema: string, config: pg.PoolConfig, options = {}) {
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2, ...config });
  return new PostgresCheckpointer(pool, undefined, { schema, endPool: true, ...options });
}

/** Until `work` settles: terminate our sessions once they wait on a lock. Returns how many. */
async function terminateWhileWaiting(admin: pg.Pool, app: string, work: Promise<unknown>) {
  let settled = false;
  void work.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  let terminated = 0;
  while (!settled) {
    const { rows } = await admin.query(
      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
       WHERE application_name = $1 AND wait_event_type = 'Lock'`,
      [app],
    );
    terminated += rows.length;
    await new Promise((r) => setTimeout(r, 5));
  }
  return terminated;
}

describe.skipIf(!pgUp)("errors only a server produces (postgres)", () => {
  let admin: pg.Pool;
  let made: Awaited<ReturnType<(typeof targets)[number]["create"]>>;
  let schema: string;
  beforeAll(async () => {
    admin = adminPool();
    made = await (targets[0] as (typeof targets)[number]).create();
    schema = made.saver.options.schema;
    await made.saver.put({ configurable: { thread_id: "t" } }, cp(), meta, { v: 1 });
  });
  afterAll(async () => {
    await made.dispose();
    await admin.end();
  });

  for (const [setting, state] of [
    ["lock_timeout", /^55P03$/],
    ["statement_timeout", /^57014$/],
  ] as const) {
    it(`${setting} hit on every method: TIMEOUT`, async () => {
      const saver = saverWith(schema, { options: `-c ${setting}=50` });
      const unlock = await lockTables(admin, made.saver);
      try {
        for (const [operation, call] of operations(saver)) {
          await expectWrapped(call(), "TIMEOUT", operation, state);
        }
      } finally {
        await unlock();
        await saver.end();
      }
    });
  }

  it("the session killed mid-statement on every method: CONNECTION_LOST", async () => {
    const app = `agentstate-errors-${randomBytes(4).toString("hex")}`;
    const saver = saverWith(schema, { application_name: app });
    const unlock = await lockTables(admin, made.saver);
    try {
      for (const [operation, call] of operations(saver)) {
        const work = call();
        expect(await terminateWhileWaiting(admin, app, work)).toBe(1);
        const cause = await expectWrapped(work, "CONNECTION_LOST", operation);
        expect(cause.code).toBe("57P01");
      }
    } finally {
      await unlock();
      await saver.end();
    }
  });

  it("group commit: a combined statement's failure reaches each caller under its own method", async () => {
    const app = `agentstate-errors-${randomBytes(4).toString("hex")}`;
    const saver = saverWith(schema, { application_name: app }, { maxConcurrentWrites: 1 });
    const operationsSeen: string[] = [];
    saver.onOperation((e) => operationsSeen.push(e.operation));
    const unlock = await lockTables(admin, made.saver);
    try {
      const first = saver.put({ configurable: { thread_id: "g1" } }, cp(), meta, { v: 1 });
      await new Promise((r) => setImmediate(r)); // serialized and sent: the others queue behind it
      const queued = [
        saver.put({ configurable: { thread_id: "g2" } }, cp(), meta, { v: 1 }),
        saver.putWrites(at("g3"), [["v", 1]], "task"),
      ];
      const everything = Promise.allSettled([first, ...queued]);
      // the lone first write, then the two queued ones as one combined statement
      expect(await terminateWhileWaiting(admin, app, everything)).toBe(2);
      await expectWrapped(first, "CONNECTION_LOST", "put");
      await expectWrapped(queued[0] as Promise<unknown>, "CONNECTION_LOST", "put");
      await expectWrapped(queued[1] as Promise<unknown>, "CONNECTION_LOST", "putWrites");
      expect(operationsSeen).toEqual(["put", "writeBatch"]);
    } finally {
      await unlock();
      await saver.end();
    }
  });
});

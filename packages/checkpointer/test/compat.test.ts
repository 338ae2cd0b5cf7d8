import { Command } from "@langchain/langgraph";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import pg from "pg";
import { PostgresCheckpointer } from "../src/index.js";
import { approvalGraph } from "./graphs.js";
import { DATABASE_URL, dropSchema, pgUp, uniqueSchema } from "./helpers.js";

// Drop-in both ways on real graphs: a thread one saver started, the other reads, lists and
// resumes — through an interrupt(), whose special writes must survive the hand-over.
describe.skipIf(!pgUp)("compatibility with the official PostgresSaver", () => {
  const schema = uniqueSchema("compat");
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 4 });
  let official: PostgresSaver;
  let ours: PostgresCheckpointer;

  beforeAll(async () => {
    official = new PostgresSaver(pool, undefined, { schema });
    ours = new PostgresCheckpointer(pool, undefined, { schema });
  });
  afterAll(async () => {
    await dropSchema(schema, pool);
    await pool.end();
  });

  async function history(saver: PostgresSaver | PostgresCheckpointer, thread: string) {
    const ids: string[] = [];
    for await (const t of saver.list({ configurable: { thread_id: thread } }))
      ids.push(t.checkpoint.id);
    return ids;
  }

  it("official setup, then ours migrates on top and the official setup still works", async () => {
    await official.setup();
    await ours.setup();
    await official.setup();
    const { rows } = await pool.query(`SELECT max(v) AS v FROM "${schema}".checkpoint_migrations`);
    expect(rows[0].v).toBeGreaterThanOrEqual(13);
  });

  for (const [first, second] of [
    ["official", "ours"],
    ["ours", "official"],
  ] as const) {
    it(`a thread started by ${first} is read, listed and resumed by ${second}`, async () => {
      const savers = { official, ours };
      const thread = `compat-${first}`;
      const config = { configurable: { thread_id: thread } };
      const g1 = approvalGraph(savers[first]);
      await g1.invoke({ messages: [{ role: "user", content: "go" }] }, config);
      const before = await g1.getState(config);
      expect(before.next).toEqual(["approve"]);
      expect(before.tasks[0]?.interrupts[0]?.value).toEqual({ question: "ship it?" });

      const g2 = approvalGraph(savers[second]);
      const seen = await g2.getState(config);
      expect(seen.values).toEqual(before.values);
      expect(seen.next).toEqual(before.next);
      expect(seen.tasks[0]?.interrupts[0]?.value).toEqual({ question: "ship it?" });
      expect(await history(savers[second], thread)).toEqual(await history(savers[first], thread));

      const result = await g2.invoke(new Command({ resume: "yes" }), config);
      expect(result.messages.at(-1)?.content).toBe("approved: yes");
      // …and the first saver reads the finished thread the second one wrote.
      const after = await g1.getState(config);
      expect(after.next).toEqual([]);
      expect(after.values.messages.map((m: { content: unknown }) => m.content)).toEqual(
        result.messages.map((m: { content: unknown }) => m.content),
      );
      expect(await history(savers[first], thread)).toEqual(await history(savers[second], thread));
    });
  }

  it("rows written by the official saver get a timestamp from the column default", async () => {
    const { rows } = await pool.query(
      `SELECT count(*)::int AS n FROM "${schema}".checkpoints WHERE created_at IS NULL OR created_at < now() - interval '1 hour'`,
    );
    expect(rows[0].n).toBe(0);
  });
});

// `agentstate compact` / `expand`: a real thread converted both ways from the command line, its
// values read back identically each time; usage errors exit 64 before touching a database.
import { AIMessage, HumanMessage } from "@langchain/core/messages";
import { END, MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import { postgresReachable, runCli, testSaver, uniqueSchema } from "./helpers.js";

const up = await postgresReachable();

const chat = (checkpointer: BaseCheckpointSaver) =>
  new StateGraph(MessagesAnnotation)
    .addNode("reply", (s: typeof MessagesAnnotation.State) => ({
      messages: [new AIMessage({ id: `ai-${s.messages.length}`, content: "r".repeat(200) })],
    }))
    .addEdge(START, "reply")
    .addEdge("reply", END)
    .compile({ checkpointer });

describe("agentstate compact / expand: usage", () => {
  it("exits 64 without thread ids or --all, or with both", async () => {
    const url = ["--database-url", "postgres://nobody@127.0.0.1:1/none"];
    expect((await runCli([...url, "compact"])).code).toBe(64);
    expect((await runCli([...url, "expand", "t1", "--all"])).code).toBe(64);
  });
});

describe.skipIf(!up)("agentstate compact / expand against Postgres", () => {
  const schema = uniqueSchema("clicompact");
  let env: Awaited<ReturnType<typeof testSaver>>;
  const cli = (args: string[]) => runCli(["--schema", schema, "--json", ...args]);
  const values = async () => {
    const out: unknown[] = [];
    for await (const t of env.saver.list({ configurable: { thread_id: "t1" } }))
      out.push(t.checkpoint.channel_values);
    return JSON.stringify(out);
  };
  const compactRows = async () =>
    (
      await env.pool.query(
        `SELECT count(*)::int AS n FROM "${schema}".checkpoint_blobs WHERE type LIKE 'agentstate-append:%'`,
      )
    ).rows[0].n as number;

  beforeAll(async () => {
    env = await testSaver(schema);
    const config = { configurable: { thread_id: "t1" } };
    for (let i = 0; i < 10; i += 1)
      await chat(env.saver).invoke({ messages: [new HumanMessage(`turn ${i}`)] }, config);
  });
  afterAll(() => env.dispose());

  it("dry run counts, compact converts, expand restores; the values never change", async () => {
    const before = await values();
    const dry = await cli(["compact", "--all", "--dry-run"]);
    expect(dry.code, dry.output).toBe(0);
    const planned = JSON.parse(dry.stdout);
    expect(planned).toMatchObject({ direction: "compact", dryRun: true, threads: 1 });
    expect(planned.rows).toBeGreaterThan(5);
    expect(await compactRows()).toBe(0);

    const done = await cli(["compact", "t1"]);
    expect(done.code, done.output).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject({ rows: planned.rows, dryRun: false });
    expect(await compactRows()).toBe(planned.rows);
    expect(await values()).toBe(before);

    const expanded = await cli(["expand", "--all"]);
    expect(expanded.code, expanded.output).toBe(0);
    expect(JSON.parse(expanded.stdout)).toMatchObject({ direction: "expand", rows: planned.rows });
    expect(await compactRows()).toBe(0);
    expect(await values()).toBe(before);
  });
});

// The retention example against real Postgres, on threads run through the real agent: a dry run
// deletes nothing; the real pass drops the idle threads whole, trims the others to keepLatest,
// and every kept thread reads back the same and still resumes; stats say so; the worker and the
// `agentstate prune` command of the cron line do the same job.
import { spawn } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { getCheckpointer, type PostgresCheckpointer } from "@agentstate/checkpointer";
import { DATABASE_URL, postgresReachable } from "@agentstate/test-support/postgres";
import { dropSchema, uniqueSchema } from "@agentstate/test-support/schema";
import { type BaseMessage, HumanMessage } from "@langchain/core/messages";
import { Command } from "@langchain/langgraph";
import { buildAgent } from "./src/agent.js";
import { type RetentionReport, runRetention } from "./src/retention.js";
import { ageThread, seedThreads } from "./src/seed.js";
import { startRetentionWorker } from "./src/worker.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const SCHEMA = uniqueSchema("ex_retention");

const saver: PostgresCheckpointer | undefined = (await postgresReachable())
  ? await getCheckpointer({ connectionString: DATABASE_URL, schema: SCHEMA })
  : undefined;

describe.skipIf(!saver)("examples/retention", () => {
  const cp = saver!;
  const agent = buildAgent(saver);
  const config = (id: string) => ({ configurable: { thread_id: id } });
  const quiet = () => {};
  const KEPT = ["active", "long-lived", "waiting", "short"];
  const STALE = ["stale-1", "stale-2"];

  beforeAll(async () => {
    await seedThreads(cp, [
      { threadId: "active", turns: 6 },
      { threadId: "long-lived", turns: 6 },
      { threadId: "waiting", turns: 3, waiting: true },
      { threadId: "short", turns: 1 },
      { threadId: "stale-1", turns: 3 },
      { threadId: "stale-2", turns: 2, waiting: true },
    ]);
    await ageThread(cp, "stale-1", 40);
    await ageThread(cp, "stale-2", 40);
    // Old history, recent activity: TTL goes by the last checkpoint, so this thread stays.
    await ageThread(cp, "long-lived", 60, 3);
  }, 120_000);

  afterAll(async () => {
    await dropSchema(SCHEMA);
    await cp.end();
  });

  /** Rows per table for some threads (checkpoints, blobs, writes, ledger). */
  async function rows(threadIds: string[]) {
    const t = cp.tables;
    const [r] = await cp.run<{ checkpoints: number; blobs: number; writes: number }>(
      "rows",
      `SELECT (SELECT count(*) FROM ${t.checkpoints} WHERE thread_id = ANY($1))::int AS checkpoints,
        (SELECT count(*) FROM ${t.blobs} WHERE thread_id = ANY($1))::int AS blobs,
        (SELECT count(*) FROM ${t.writes} WHERE thread_id = ANY($1))::int AS writes`,
      [threadIds],
    );
    return r!;
  }
  const perThread = async () =>
    Object.fromEntries(
      await Promise.all(
        [...KEPT, ...STALE].map(async (id) => [id, (await rows([id])).checkpoints]),
      ),
    ) as Record<string, number>;

  /** Everything a reader sees of a thread: head checkpoint, values, next, pending questions. */
  async function readBack(id: string) {
    const s = await agent.graph.getState(config(id));
    return {
      checkpointId: s.config.configurable?.checkpoint_id,
      messages: (s.values as { messages: BaseMessage[] }).messages.map((m) => ({
        type: m.getType(),
        content: m.content,
        id: m.id,
        toolCalls: (m as { tool_calls?: Array<{ id?: string }> }).tool_calls?.map((c) => c.id),
      })),
      next: s.next,
      interrupts: s.tasks.flatMap((t) => (t.interrupts ?? []).map((i) => i.value)),
    };
  }

  let dry: RetentionReport;
  let real: RetentionReport;
  let countsBefore: Record<string, number>;
  let statesBefore: Record<string, Awaited<ReturnType<typeof readBack>>>;

  it("seeded realistic threads: long chains, one waiting for a human", async () => {
    countsBefore = await perThread();
    expect(countsBefore.active).toBeGreaterThan(20);
    expect(countsBefore["long-lived"]).toBeGreaterThan(20);
    statesBefore = Object.fromEntries(
      await Promise.all(KEPT.map(async (id) => [id, await readBack(id)])),
    );
    expect(statesBefore.waiting?.interrupts).toEqual([
      { question: 'File "file the notes of turn 3"?' },
    ]);
  });

  it("a dry run counts what would go and deletes nothing", async () => {
    dry = await runRetention({
      checkpointer: cp,
      keepLatest: 5,
      olderThan: "30d",
      dryRun: true,
      log: quiet,
    });
    expect(dry.result).toMatchObject({ dryRun: true, threadsScanned: 6, threadsDeleted: 2 });
    expect(dry.result.checkpointsDeleted).toBeGreaterThan(0);
    expect(dry.after.totalCheckpoints).toBe(dry.before.totalCheckpoints);
    expect(dry.after.uniqueThreads).toBe(6);
    expect(await perThread()).toEqual(countsBefore);
  });

  it("drops idle threads whole and trims the rest to the latest 5", async () => {
    const staleRows = await rows(STALE);
    real = await runRetention({ checkpointer: cp, keepLatest: 5, olderThan: "30d", log: quiet });
    // Same decisions as the dry run announced.
    expect({ ...real.result, dryRun: true }).toEqual(dry.result);
    expect(real.result.threadsDeleted).toBe(2);

    expect(await rows(STALE)).toEqual({ checkpoints: 0, blobs: 0, writes: 0 });
    for (const id of STALE) expect(await cp.getTuple(config(id))).toBeUndefined();
    const expected = Object.fromEntries(
      KEPT.map((id) => [id, Math.min(5, countsBefore[id]!)]).concat(STALE.map((id) => [id, 0])),
    );
    expect(await perThread()).toEqual(expected);

    // Stats reflect exactly what prune reported.
    expect(real.after.uniqueThreads).toBe(real.before.uniqueThreads - 2);
    expect(real.after.totalCheckpoints).toBe(
      real.before.totalCheckpoints - real.result.checkpointsDeleted,
    );
    const trimmed = KEPT.reduce((n, id) => n + countsBefore[id]! - expected[id]!, 0);
    expect(real.result.checkpointsDeleted).toBe(staleRows.checkpoints + trimmed);
    expect(real.after.newestCheckpointAt).toEqual(real.before.newestCheckpointAt);
  });

  it("kept threads read back the same and still resume", async () => {
    for (const id of KEPT) expect(await readBack(id)).toEqual(statesBefore[id]);

    const answered = await agent.invoke(new Command({ resume: "yes" }), config("waiting"));
    expect(answered.messages.at(-1)?.content).toBe(
      'Turn 3: 3 results for "file the notes of turn 3"; yes.',
    );
    const more = await agent.invoke(
      { messages: [new HumanMessage("question 7")] },
      config("active"),
    );
    expect(more.messages.at(-1)?.content).toBe('Turn 7: 3 results for "question 7".');
    expect(more.messages).toHaveLength(statesBefore.active!.messages.length + 4);
    const again = await agent.invoke(
      { messages: [new HumanMessage("question 7")] },
      config("long-lived"),
    );
    expect(again.messages.at(-1)?.content).toBe('Turn 7: 3 results for "question 7".');
  });

  it("the worker runs passes on a timer, one at a time, until stopped", async () => {
    const reports: RetentionReport[] = [];
    let passes = 0;
    const worker = startRetentionWorker({
      checkpointer: cp,
      keepLatest: 5,
      olderThan: "30d",
      everyMs: 20,
      log: quiet,
      onRun: (r) => {
        reports.push(r);
        passes += 1;
      },
    });
    while (passes < 3) await new Promise((r) => setTimeout(r, 10));
    await worker.stop();
    const stoppedAt = passes;
    await new Promise((r) => setTimeout(r, 100));
    expect(passes).toBe(stoppedAt);
    // The resumed threads grew past 5 again: the first pass trims them back, later ones find nothing.
    expect(reports[0]!.result.checkpointsDeleted).toBeGreaterThan(0);
    expect(reports.slice(1).map((r) => r.result.checkpointsDeleted)).toEqual(
      reports.slice(1).map(() => 0),
    );
    expect(reports.every((r) => r.result.threadsDeleted === 0)).toBe(true);
  });

  it("agentstate prune --older-than 30d --json (the cron line) drops an idle thread", async () => {
    await seedThreads(cp, [{ threadId: "stale-3", turns: 2 }]);
    await ageThread(cp, "stale-3", 31);
    const stale = await rows(["stale-3"]);
    const others = await rows(KEPT);

    const cli = spawn(
      process.execPath,
      [
        ...["--conditions=agentstate-source", "--import", "tsx"],
        "packages/recovery/src/cli/main.ts",
        ...["prune", "--older-than", "30d", "--json", "--schema", SCHEMA],
      ],
      { cwd: ROOT, env: { ...process.env, DATABASE_URL }, stdio: ["ignore", "pipe", "inherit"] },
    );
    let stdout = "";
    cli.stdout.on("data", (d) => {
      stdout += d;
    });
    const code = await new Promise((r) => cli.on("close", r));
    expect(code).toBe(0);
    const { at: _at, ...printed } = JSON.parse(stdout);
    expect(printed).toEqual({
      dryRun: false,
      threadsScanned: KEPT.length + 1,
      threadsDeleted: 1,
      checkpointsDeleted: stale.checkpoints,
      writesDeleted: stale.writes,
      blobsDeleted: stale.blobs,
    });
    expect(await rows(["stale-3"])).toEqual({ checkpoints: 0, blobs: 0, writes: 0 });
    expect(await rows(KEPT)).toEqual(others);
  }, 60_000);
});

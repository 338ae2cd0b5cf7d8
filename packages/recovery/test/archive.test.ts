// archive()/restore() through the library on real Postgres and on PGlite, with file:// storage:
// exact round trips, the ARCHIVED error, hot/archived counts, which states qualify, idempotence.
import {
  type CheckpointerError,
  getCheckpointer,
  type PostgresCheckpointer,
} from "@agentstate/checkpointer";
import { Command } from "@langchain/langgraph";
import { emptyCheckpoint } from "@langchain/langgraph-checkpoint";
import { approvalGraph, toolLoopGraph, userSays } from "../../checkpointer/test/graphs.js";
import { type ArchiveThreadResult, archive, restore } from "../src/index.js";
import { buildThreads, rowCounts, snapshot, tempArchiveDir } from "./archive-support.js";
import { breakpointGraph, interruptGraph, stepsGraph } from "./fixtures/graphs.js";
import { postgresReachable, testSaver, uniqueSchema } from "./helpers.js";

const pgUp = await postgresReachable();
const targets = [
  ...(pgUp
    ? [
        {
          name: "postgres",
          create: async () => {
            const env = await testSaver(uniqueSchema("arch"));
            return { saver: env.saver, dispose: env.dispose };
          },
        },
      ]
    : []),
  {
    name: "pglite",
    create: async () => {
      const saver = await getCheckpointer({ dataDir: ":memory:" });
      return { saver, dispose: () => saver.end() };
    },
  },
];

const cfg = (thread_id: string) => ({ configurable: { thread_id }, durability: "sync" as const });
const future = () => new Date(Date.now() + 3_600_000);

describe.each(targets)("archive and restore ($name, file://)", ({ create }) => {
  let saver: PostgresCheckpointer;
  let dispose: () => Promise<unknown>;
  let dir: Awaited<ReturnType<typeof tempArchiveDir>>;

  beforeAll(async () => {
    ({ saver, dispose } = await create());
    dir = await tempArchiveDir("lib");
  });
  afterAll(async () => {
    await dispose();
    await dir.remove();
  });

  it("round-trips every kind of thread exactly; reads of an archived thread say ARCHIVED", async () => {
    const ids = await buildThreads(saver, "rt");
    const all = Object.values(ids);
    const before = new Map<string, Awaited<ReturnType<typeof snapshot>>>();
    for (const id of all) before.set(id, await snapshot(saver, id));
    // The fixtures really cover what they claim: a child namespace, a fork, DeltaChannel writes.
    const sub = before.get(ids.sub)?.rows.checkpoints ?? [];
    expect(sub.some((r) => !r.includes('"checkpoint_ns": ""'))).toBe(true);
    const parents = (before.get(ids.fork)?.rows.checkpoints ?? []).map(
      (r) => /"parent_checkpoint_id": "([^"]+)"/.exec(r)?.[1],
    );
    expect(new Set(parents).size).toBeLessThan(parents.length);
    expect(before.get(ids.loop)?.tuples.length).toBeGreaterThanOrEqual(21);

    const result = await archive(saver, { to: dir.url, threadIds: all });
    expect(result.threads.map((t) => t.outcome)).toEqual(all.map(() => "archived"));
    expect(result.archived).toBe(5);
    expect(await dir.files()).toHaveLength(5);
    for (const f of await dir.files()) expect(f).toMatch(/^[0-9a-f]{2}\/[0-9a-f]{64}\.jsonl\.gz$/);
    for (const id of all) {
      expect(Object.values(await rowCounts(saver, id))).toEqual([0, 0, 0, 0, 0]);
    }

    const read = saver.getTuple(cfg(ids.loop));
    await expect(read).rejects.toMatchObject({ code: "ARCHIVED" });
    const message = ((await read.catch((e) => e)) as CheckpointerError).message;
    expect(message).toContain(dir.url);
    expect(message).toContain("agentstate restore rt-loop");
    await expect(
      toolLoopGraph(saver, 10).getState({ configurable: { thread_id: ids.loop } }),
    ).rejects.toMatchObject({ code: "ARCHIVED" });
    // Starting a run on it does not silently begin a new history either.
    await expect(
      toolLoopGraph(saver, 10).invoke(userSays("again"), cfg(ids.loop)),
    ).rejects.toMatchObject({ code: "ARCHIVED" });
    const cold = await saver.getCheckpointStats();
    expect(cold).toMatchObject({ uniqueThreads: 0, archivedThreads: 5, totalCheckpoints: 0 });
    expect(cold.archivedBytes).toBe(result.bytes);

    const back = await restore(saver, all);
    expect(back).toMatchObject({ restored: 5, alreadyRestored: 0, failed: 0 });
    for (const id of all) expect(await snapshot(saver, id)).toEqual(before.get(id));
    expect(await restore(saver, all)).toMatchObject({ restored: 0, alreadyRestored: 5 });
    expect(await saver.getCheckpointStats()).toMatchObject({
      uniqueThreads: 5,
      archivedThreads: 0,
    });

    // The restored waiting thread resumes where it stopped.
    const done = await approvalGraph(saver).invoke(
      new Command({ resume: "yes" }) as never,
      cfg(ids.wait),
    );
    expect(done.messages.at(-1)?.content).toBe("approved: yes");
  });

  it("by age archives completed threads only; named threads go in any state but a live lease", async () => {
    const p = "st";
    await toolLoopGraph(saver, 1).invoke(userSays("x"), cfg(`${p}-done`));
    await interruptGraph(saver).invoke({}, cfg(`${p}-waiting`));
    await breakpointGraph(saver).invoke({}, cfg(`${p}-pending`));
    const failing = stepsGraph(saver, { failAt: "step2", runs: {} });
    await expect(failing.invoke({}, cfg(`${p}-failed`))).rejects.toThrow("boom");
    for (const [suffix, status, lease] of [
      ["dead", "dead", null],
      ["running", "running", "1 hour"],
      ["expired", "running", "-1 hour"],
      ["drained", "drained", "-1 hour"],
    ] as const) {
      await toolLoopGraph(saver, 1).invoke(userSays("x"), cfg(`${p}-${suffix}`));
      await saver.run(
        "test",
        `INSERT INTO ${saver.tables.runs} (thread_id, status, lease_until)
         VALUES ($1, $2, now() + $3::interval)`,
        [`${p}-${suffix}`, status, lease],
      );
    }
    const mine = (r: { threads: ArchiveThreadResult[] }) =>
      Object.fromEntries(
        r.threads.filter((t) => t.threadId.startsWith(`${p}-`)).map((t) => [t.threadId, t]),
      );
    const filesBefore = await dir.files();
    const dry = mine(await archive(saver, { to: dir.url, olderThan: future(), dryRun: true }));
    expect(Object.fromEntries(Object.entries(dry).map(([k, v]) => [k, v.state]))).toEqual({
      "st-done": "completed",
      "st-waiting": "waiting",
      "st-pending": "crashed",
      "st-failed": "failed",
      "st-dead": "dead",
      "st-running": "running",
      "st-expired": "crashed",
      "st-drained": "drained",
    });
    expect(dry["st-done"]?.outcome).toBe("would_archive");
    expect(dry["st-waiting"]?.outcome).toBe("skipped");
    expect(await dir.files()).toEqual(filesBefore);
    expect((await rowCounts(saver, "st-done")).checkpoints).toBeGreaterThan(0);

    const byAge = mine(await archive(saver, { to: dir.url, olderThan: future() }));
    expect(
      Object.entries(byAge)
        .filter(([, v]) => v.outcome === "archived")
        .map(([k]) => k),
    ).toEqual(["st-done"]);
    const recent = mine(await archive(saver, { to: dir.url, olderThan: new Date(0) }));
    expect(recent).toEqual({});

    const named = await archive(saver, {
      to: dir.url,
      threadIds: [
        "st-waiting",
        "st-pending",
        "st-failed",
        "st-dead",
        "st-running",
        "st-expired",
        "st-drained",
        "st-done",
        "st-nope",
      ],
    });
    expect(Object.fromEntries(named.threads.map((t) => [t.threadId, t.outcome]))).toEqual({
      "st-waiting": "archived",
      "st-pending": "archived",
      "st-failed": "archived",
      "st-dead": "archived",
      "st-running": "skipped",
      "st-expired": "archived",
      "st-drained": "archived",
      "st-done": "already_archived",
      "st-nope": "not_found",
    });
    // Ledger rows travel with the thread and come back.
    await restore(saver, ["st-dead"]);
    const [row] = await saver.run<{ status: string }>(
      "test",
      `SELECT status FROM ${saver.tables.runs} WHERE thread_id = 'st-dead'`,
    );
    expect(row?.status).toBe("dead");
  });

  it("restore refuses to overwrite a thread that exists again, and names unknown threads", async () => {
    await toolLoopGraph(saver, 1).invoke(userSays("x"), cfg("ow"));
    await archive(saver, { to: dir.url, threadIds: ["ow"] });
    // Something writes under the same id without reading first (a plain put).
    await saver.put(
      { configurable: { thread_id: "ow", checkpoint_ns: "" } },
      { ...emptyCheckpoint(), id: "1f0000000000000000000000000000001" },
      { source: "input", step: -1, parents: {} },
      {},
    );
    const r = await restore(saver, ["ow", "never-was"]);
    expect(r.threads.map((t) => t.error?.code)).toEqual(["THREAD_EXISTS", "NOT_ARCHIVED"]);
    expect((await rowCounts(saver, "ow")).checkpoints).toBe(1);
    // A re-archive must not replace the first archive of "ow" with the newcomer.
    const again = await archive(saver, { to: dir.url, threadIds: ["ow"] });
    expect(again.threads[0]).toMatchObject({ outcome: "skipped" });
  });
});

import { deltaMessagesGraph, toolLoopGraph, userSays } from "./graphs.js";
import { targets } from "./helpers.js";

async function countCheckpoints(
  saver: { list: (c: object) => AsyncGenerator<unknown> },
  thread: string,
) {
  let n = 0;
  for await (const _ of saver.list({ configurable: { thread_id: thread } })) n += 1;
  return n;
}

describe.each(targets)("operations ($name)", (target) => {
  let made: Awaited<ReturnType<typeof target.create>>;
  beforeAll(async () => {
    made = await target.create();
  });
  afterAll(() => made.dispose());

  it("DeltaChannel messages: stored once each, rebuilt natively in one query", async () => {
    const { saver } = made;
    const graph = deltaMessagesGraph(saver, 10);
    const config = { configurable: { thread_id: "delta" } };
    for (let i = 0; i < 25; i += 1) await graph.invoke({}, config);
    const state = await graph.getState(config);
    expect(state.values.messages.map((m: { content: string }) => m.content)).toEqual(
      Array.from({ length: 25 }, (_, i) => `message ${i}`),
    );
    // each message is written once, as a pending write, not re-stored in every checkpoint
    const { rows } = await saver.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${saver.tables.writes} WHERE thread_id = 'delta' AND channel = 'messages'`,
    );
    expect(rows[0]?.n).toBe(25);
    const spy = vi.spyOn(saver.db, "query");
    const history = await saver.getDeltaChannelHistory({ config, channels: ["messages"] });
    expect(spy).toHaveBeenCalledTimes(1);
    spy.mockRestore();
    // seed (last snapshot) + the writes after it = every message, as the graph state has them
    const seeded = (history.messages?.seed as { value: unknown[] } | undefined)?.value?.length ?? 0;
    expect(seeded).toBe(20);
    expect(seeded + (history.messages?.writes.length ?? 0)).toBe(25);
  });

  it("stats and listThreads see every thread and checkpoint", async () => {
    const { saver } = made;
    for (const t of ["a", "b", "c"])
      await toolLoopGraph(saver, 2).invoke(userSays(t), {
        configurable: { thread_id: `ops-${t}` },
      });
    const stats = await saver.getCheckpointStats();
    const all = [];
    let after: string | undefined;
    do {
      const page = await saver.listThreads({ limit: 2, after });
      all.push(...page.threads);
      after = page.nextCursor;
    } while (after);
    expect(all.map((t) => t.threadId)).toEqual(["delta", "ops-a", "ops-b", "ops-c"]);
    expect(stats.uniqueThreads).toBe(4);
    expect(stats.totalCheckpoints).toBe(all.reduce((n, t) => n + t.checkpointCount, 0));
    expect(all[1]?.checkpointCount).toBe(await countCheckpoints(saver, "ops-a"));
    expect(stats.newestCheckpointAt!.getTime()).toBeGreaterThanOrEqual(
      stats.oldestCheckpointAt!.getTime(),
    );
    expect(stats.bytes.total).toBeGreaterThan(0);
    const recent = await saver.listThreads({ orderBy: "lastActivity", limit: 1 });
    expect(recent.threads[0]?.threadId).toBe("ops-c");
  });

  it("copyThread duplicates a thread that then runs on its own; deleteThread removes all of it", async () => {
    const { saver } = made;
    const copied = await saver.copyThread("ops-a", "ops-a-copy");
    expect(copied).toBe(await countCheckpoints(saver, "ops-a"));
    await expect(saver.copyThread("ops-b", "ops-a-copy")).rejects.toMatchObject({
      code: "THREAD_EXISTS",
    });
    const graph = toolLoopGraph(saver, 2);
    const copyState = await graph.getState({ configurable: { thread_id: "ops-a-copy" } });
    const origState = await graph.getState({ configurable: { thread_id: "ops-a" } });
    expect(copyState.values).toEqual(origState.values);
    await saver.deleteThread("ops-a-copy");
    expect(await countCheckpoints(saver, "ops-a-copy")).toBe(0);
    for (const table of [saver.tables.blobs, saver.tables.writes]) {
      const { rows } = await saver.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${table} WHERE thread_id = 'ops-a-copy'`,
      );
      expect(rows[0]?.n).toBe(0);
    }
  });

  it("prune keepLatest: dry run counts, the real run matches it, state survives, blobs go", async () => {
    const { saver } = made;
    const before = await countCheckpoints(saver, "ops-b");
    const dry = await saver.prune({ keepLatest: 2, threadIds: ["ops-b"], dryRun: true });
    expect(dry.checkpointsDeleted).toBe(before - 2);
    expect(await countCheckpoints(saver, "ops-b")).toBe(before);
    const graph = toolLoopGraph(saver, 2);
    const stateBefore = await graph.getState({ configurable: { thread_id: "ops-b" } });
    const real = await saver.prune({ keepLatest: 2, threadIds: ["ops-b"] });
    expect(real).toMatchObject({
      checkpointsDeleted: dry.checkpointsDeleted,
      writesDeleted: dry.writesDeleted,
      blobsDeleted: dry.blobsDeleted,
    });
    expect(real.blobsDeleted).toBeGreaterThan(0);
    expect(await countCheckpoints(saver, "ops-b")).toBe(2);
    expect((await graph.getState({ configurable: { thread_id: "ops-b" } })).values).toEqual(
      stateBefore.values,
    );
    // every blob left is named by a remaining checkpoint
    const { rows } = await saver.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${saver.tables.blobs} b WHERE thread_id = 'ops-b' AND NOT EXISTS (
         SELECT 1 FROM ${saver.tables.checkpoints} c WHERE c.thread_id = b.thread_id
         AND c.checkpoint -> 'channel_versions' ->> b.channel = b.version)`,
    );
    expect(rows[0]?.n).toBe(0);
  });

  it("prune keeps what a DeltaChannel needs to rebuild its value", async () => {
    const { saver } = made;
    const graph = deltaMessagesGraph(saver, 10);
    const config = { configurable: { thread_id: "delta" } };
    const expected = (await graph.getState(config)).values.messages.length;
    const result = await saver.prune({ keepLatest: 1, threadIds: ["delta"] });
    expect(result.checkpointsDeleted).toBeGreaterThan(0);
    // the latest snapshot was at 20 messages: its checkpoint and the ones after must remain
    const left = await countCheckpoints(saver, "delta");
    expect(left).toBeGreaterThan(1);
    expect(left).toBeLessThan(60);
    expect((await graph.getState(config)).values.messages).toHaveLength(expected);
    await graph.invoke({}, config);
    expect((await graph.getState(config)).values.messages).toHaveLength(expected + 1);
  });

  it("prune olderThan deletes idle threads whole, and nothing else", async () => {
    const { saver } = made;
    await saver.db.query(
      `UPDATE ${saver.tables.checkpoints} SET created_at = now() - interval '40 days' WHERE thread_id = 'ops-c'`,
    );
    const cutoff = new Date(Date.now() - 30 * 24 * 3600 * 1000);
    const result = await saver.prune({ olderThan: cutoff });
    expect(result.threadsDeleted).toBe(1);
    expect(await countCheckpoints(saver, "ops-c")).toBe(0);
    expect(await countCheckpoints(saver, "ops-a")).toBeGreaterThan(0);
    await expect(saver.prune({})).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(saver.prune({ keepLatest: 0 })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
  });
});

// A real crash mid-archive: a child process SIGKILLed after writing a file and before deleting its
// thread. Every thread is then either fully archived or untouched, and a re-run finishes the job.
import { resolve } from "node:path";
import { readArchiveRecords } from "@agentstate/checkpointer";
import { toolLoopGraph, userSays } from "../../checkpointer/test/graphs.js";
import { archive, restore } from "../src/index.js";
import { rowCounts, snapshot, tempArchiveDir } from "./archive-support.js";
import { FIXTURES, postgresReachable, spawnTs, testSaver, uniqueSchema } from "./helpers.js";

const pgUp = await postgresReachable();

describe.skipIf(!pgUp)("archive after SIGKILL", () => {
  const schema = uniqueSchema("archkill");
  let env: Awaited<ReturnType<typeof testSaver>>;
  let dir: Awaited<ReturnType<typeof tempArchiveDir>>;

  beforeAll(async () => {
    [env, dir] = await Promise.all([testSaver(schema), tempArchiveDir("kill")]);
  });
  afterAll(async () => {
    await Promise.all([env?.dispose(), dir?.remove()]);
  });

  it("leaves each thread fully archived or untouched; the re-run archives the rest exactly", async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `k-${String(i).padStart(2, "0")}`);
    const before = new Map<string, Awaited<ReturnType<typeof snapshot>>>();
    for (const id of ids) {
      await toolLoopGraph(env.saver, 3).invoke(userSays(id), {
        configurable: { thread_id: id },
        durability: "sync",
      });
      before.set(id, await snapshot(env.saver, id));
    }
    const child = spawnTs(resolve(FIXTURES, "run-archive.ts"), [schema, dir.url], {
      ARCHIVE_KILL_AFTER_PUT: "6",
    });
    await child.exited;
    expect(child.child.signalCode, child.output()).toBe("SIGKILL");

    const index = await readArchiveRecords(env.saver.db, env.saver.tables, ids);
    let archived = 0;
    for (const id of ids) {
      const counts = Object.values(await rowCounts(env.saver, id));
      if (index.get(id)?.status === "archived") {
        archived += 1;
        expect(counts, id).toEqual([0, 0, 0, 0, 0]);
      } else {
        expect(await snapshot(env.saver, id), id).toEqual(before.get(id));
      }
    }
    expect(archived).toBeLessThan(6);
    // At least the sixth file was written with its thread still in Postgres: a leftover.
    expect((await dir.files()).length).toBeGreaterThan(archived);

    const rerun = await archive(env.saver, {
      to: dir.url,
      olderThan: new Date(Date.now() + 3_600_000),
    });
    expect(rerun).toMatchObject({ archived: ids.length - archived, failed: 0 });
    expect(await dir.files()).toHaveLength(ids.length);
    expect((await env.saver.getCheckpointStats()).archivedThreads).toBe(ids.length);
    expect((await restore(env.saver, ids)).restored).toBe(ids.length);
    for (const id of ids) expect(await snapshot(env.saver, id), id).toEqual(before.get(id));
  });
});

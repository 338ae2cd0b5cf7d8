// Zombie campaign: a child is SIGSTOPped mid-run until its leases expire, its threads are
// recovered through the CLI, then it is SIGCONTed: fenced, it must not write a single row.
import { postgresReachable, uniqueSchema } from "../helpers.js";
import { prng } from "./agent.js";
import { pauseChild, resumeChild } from "./campaign.js";
import { campaignSeed } from "./config.js";
import { rowCounts } from "./facts.js";
import { recoverAndJudge, referenceRun, summary, Target } from "./harness.js";

const up = await postgresReachable();
const seed = campaignSeed();

describe.skipIf(!up)(`zombie campaign (Postgres, seed ${seed})`, () => {
  let target: Target;
  beforeAll(async () => {
    target = await Target.create("postgres", uniqueSchema("zombie"));
  });
  afterAll(async () => {
    await target?.dispose();
  });

  it("a paused worker that wakes after recovery is fenced and writes nothing", async () => {
    const reference = await referenceRun(target);
    const ids = Array.from({ length: 10 }, (_, i) => `z-${i}`);
    const afterMs = 200 + Math.floor(prng(seed)() * 600);
    const { child, kills } = await pauseChild(target, ids, afterMs, seed);
    const zombies = kills.map((k) => k.threadId);
    let before: Record<string, string> = {};
    let after: Record<string, string> = {};
    const report = await recoverAndJudge(target, kills, reference.messages, {
      afterRecovery: async () => {
        before = await target.use(({ saver }) => rowCounts(saver, zombies));
        await resumeChild(child);
        after = await target.use(({ saver }) => rowCounts(saver, zombies));
      },
    });
    console.log(summary(`zombie, Postgres, seed ${seed}, stopped after ${afterMs} ms`, report));
    expect(kills.length).toBeGreaterThan(0);
    expect(after).toEqual(before);
    const ended = child.ended();
    let fenced = 0;
    for (const id of zombies) {
      const end = ended.get(id);
      // Every zombie run stops on its own, refused by the fence (or finds its work complete).
      expect(end, id).toBeDefined();
      if (end?.ok) continue;
      expect(["FENCED", "LEASE_LOST"], `${id}: ${end?.message}`).toContain(end?.code);
      fenced += 1;
    }
    expect(fenced).toBeGreaterThan(0);
    expect(report.problems).toEqual([]);
    expect(report.duplicates).toBe(0);
    expect(report.forks).toBe(0);
  }, 300_000);
});

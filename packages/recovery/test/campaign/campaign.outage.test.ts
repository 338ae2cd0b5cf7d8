// Restart campaign (outage phase: it stops the shared server): Postgres is stopped under many
// durable threads and started again; recovery through the CLI must finish every one of them.
import { postgresReachable, uniqueSchema } from "../helpers.js";
import { restartUnder } from "./campaign.js";
import { campaignKills, campaignSeed } from "./config.js";
import { recoverAndJudge, referenceRun, summary, Target } from "./harness.js";
import { clusterCtl, localCluster, waitServer } from "./server.js";

const cluster = localCluster();
const up = await postgresReachable();
const seed = campaignSeed();
// The script runs 200 threads; the suite a smaller outage, larger with AGENTSTATE_CAMPAIGN_KILLS.
const threads = campaignKills(40);

describe.skipIf(!up || !cluster)(`Postgres restart under ${threads} threads (seed ${seed})`, () => {
  let target: Target;
  beforeAll(async () => {
    target = await Target.create("postgres", uniqueSchema("restart"));
  });
  afterAll(async () => {
    if (cluster) clusterCtl(cluster, "start");
    await waitServer(true);
    await target?.dispose();
  });

  it("every thread completes or is parked, once, unforked", async () => {
    const c = cluster as NonNullable<typeof cluster>;
    const reference = await referenceRun(target);
    const ids = Array.from({ length: threads }, (_, i) => `o-${String(i).padStart(3, "0")}`);
    const run = await restartUnder(target, ids, seed, {
      stop: async () => clusterCtl(c, "stop"),
      start: async () => {
        clusterCtl(c, "start");
        await waitServer(true);
      },
    });
    const report = await recoverAndJudge(target, run.kills, reference.messages, { all: true });
    console.log(
      summary(`restart, Postgres, seed ${seed}, ${run.finishedBefore} finished before`, report),
    );
    expect(run.kills.length).toBeGreaterThan(0);
    expect(report.problems).toEqual([]);
    expect(report.duplicates).toBe(0);
    expect(report.forks).toBe(0);
  }, 300_000);
});

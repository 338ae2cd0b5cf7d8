// Seeded random crash campaign on Postgres: at least 50 kills per run (AGENTSTATE_CAMPAIGN_KILLS
// for more), at random kill points and at random times; the seed is printed for replay
// (AGENTSTATE_CAMPAIGN_SEED).
import { postgresReachable, uniqueSchema } from "../helpers.js";
import { randomCampaign } from "./campaign.js";
import { campaignKills, campaignSeed } from "./config.js";
import { recoverAndJudge, referenceRun, summary, Target } from "./harness.js";

const up = await postgresReachable();
const seed = campaignSeed();
const wanted = campaignKills(50);

describe.skipIf(!up)(`random crash campaign (Postgres, seed ${seed})`, () => {
  let target: Target;
  beforeAll(async () => {
    target = await Target.create("postgres", uniqueSchema("random"));
  });
  afterAll(async () => {
    await target?.dispose();
  });

  it(`${wanted} random kills: every thread completes or is parked, once, unforked`, async () => {
    const reference = await referenceRun(target);
    const run = await randomCampaign(target, { kills: wanted, seed, ops: reference.ops });
    const report = await recoverAndJudge(target, run.kills, reference.messages, { all: true });
    console.log(
      summary(
        `random, Postgres, seed ${seed}, ${run.processes} processes, ${run.finishedBeforeKill} finished before their kill`,
        report,
      ),
    );
    expect(report.problems).toEqual([]);
    expect(report.kills).toBeGreaterThanOrEqual(wanted);
    expect(report.recovered + report.parked + report.lostInput + report.notStarted).toBe(
      report.kills,
    );
    expect(report.duplicates).toBe(0);
    expect(report.forks).toBe(0);
  }, 300_000);
});

// Crash campaigns on the embedded engine (PGlite): every kill point before and after each
// operation, then at least 20 seeded random kills; children are SIGKILLed with PGlite open. One
// recovery pass (the CLI opens PGlite a few times: the costly part) judges both.
import { postgresReachable } from "../helpers.js";
import { killAtPoints, phasesFor, randomCampaign, sweepPoints } from "./campaign.js";
import { campaignKills, campaignSeed } from "./config.js";
import { recoverAndJudge, referenceRun, summary, Target } from "./harness.js";

// The side-effect log lives in Postgres (an external system, as a real tool's would be).
const up = await postgresReachable();
const seed = campaignSeed();
const wanted = campaignKills(20);

describe.skipIf(!up)(`crash campaign on PGlite (seed ${seed})`, () => {
  let target: Target;
  beforeAll(async () => {
    target = await Target.create("pglite", `campaign_${process.pid}`);
  });
  afterAll(async () => {
    await target?.dispose();
  });

  it(`every kill point, then ${wanted} random kills: every thread completes or is parked, once, unforked`, async () => {
    const reference = await referenceRun(target);
    const points = sweepPoints(reference.ops, phasesFor(target));
    const sweep = await killAtPoints(target, points, { idPrefix: "sw" });
    const random = await randomCampaign(target, { kills: wanted, seed, ops: reference.ops });
    const kills = [...sweep.kills, ...random.kills];
    const report = await recoverAndJudge(target, kills, reference.messages);
    console.log(
      summary(
        `PGlite, ${points.length} kill points + ${random.kills.length} random (seed ${seed}), ${sweep.processes + random.processes} processes`,
        report,
      ),
    );
    expect(report.problems).toEqual([]);
    expect(sweep.kills.length).toBe(points.length);
    expect(random.kills.length).toBeGreaterThanOrEqual(wanted);
    expect(report.duplicates).toBe(0);
    expect(report.forks).toBe(0);
    expect(report.parked).toBeGreaterThan(0);
  }, 300_000);
});

// Deterministic crash sweep on Postgres: one SIGKILL per operation of the agent's run, in every
// phase (before, after, inside the statement, inside and aborted); recovery through the CLI.
import { postgresReachable, uniqueSchema } from "../helpers.js";
import { killAtPoints, phasesFor, sweepPoints } from "./campaign.js";
import { recoverAndJudge, referenceRun, summary, Target } from "./harness.js";

const up = await postgresReachable();

describe.skipIf(!up)("crash campaign: every kill point (Postgres)", () => {
  let target: Target;
  beforeAll(async () => {
    target = await Target.create("postgres", uniqueSchema("sweep"));
  });
  afterAll(async () => {
    await target?.dispose();
  });

  it("every thread completes or is parked, once, unforked, as if uncrashed", async () => {
    const reference = await referenceRun(target);
    const points = sweepPoints(reference.ops, phasesFor(target));
    const { kills, processes } = await killAtPoints(target, points, { idPrefix: "sw" });
    const report = await recoverAndJudge(target, kills, reference.messages, { all: true });
    console.log(summary(`sweep, Postgres, ${processes} processes`, report));
    expect(report.problems).toEqual([]);
    expect(report.kills).toBe(points.length);
    expect(report.recovered + report.parked + report.lostInput).toBe(points.length);
    expect(report.duplicates).toBe(0);
    expect(report.forks).toBe(0);
    // The sweep reaches both outcomes: in-flight writes parked, everything else resumed.
    expect(report.parked).toBeGreaterThan(0);
    expect(report.recovered).toBeGreaterThan(0);
  }, 300_000);
});

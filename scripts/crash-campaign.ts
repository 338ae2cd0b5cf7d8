/**
 * Crash campaign (issue 14): SIGKILLs a durable tool agent at every step boundary and inside every
 * statement, then hundreds of times at seeded random points and times, on Postgres and PGlite;
 * pauses workers into zombies; optionally restarts Postgres under 200 threads. Every thread is
 * recovered through the `agentstate` CLI and judged from the database: completed as if never
 * crashed, or parked for review and finished with --force; no tool call run twice (idempotent
 * in-flight calls at most twice); no forked checkpoint chain. Prints one row per campaign.
 *
 *   node --conditions=agentstate-source --import tsx scripts/crash-campaign.ts
 *
 * Env: DATABASE_URL (loopback only), BENCH_QUICK=1 (smaller), AGENTSTATE_CAMPAIGN_SEED (replay),
 * AGENTSTATE_CAMPAIGN_KILLS (random kills on Postgres, default 200; PGlite gets a quarter),
 * AGENTSTATE_CAMPAIGN_RESTART=1 (also stop and start the local Postgres under 200 threads: it
 * drops every connection of every other user of that server), AGENTSTATE_CAMPAIGN_STOP=immediate
 * (stop it as a crash does, without flushing the WAL: lazily committed run outcomes are lost;
 * default "fast", a clean shutdown).
 */
import { runWithSourceCondition } from "./lib/main.js";
import { databaseUrl, freshSchema } from "./lib/pg.js";
import { median } from "./lib/stats.js";
import { fmt, formatTable } from "./lib/table.js";

export async function main(): Promise<void> {
  // Loaded here: a plain `npx tsx` start re-executes itself with the workspace-source condition.
  const c = await import("../packages/recovery/test/campaign/campaign.js");
  const h = await import("../packages/recovery/test/campaign/harness.js");
  const s = await import("../packages/recovery/test/campaign/server.js");
  type Report = import("../packages/recovery/test/campaign/harness.js").CampaignReport;

  databaseUrl(); // refuses a non-loopback server before anything is created
  const quick = process.env.BENCH_QUICK === "1";
  const seed = Number(process.env.AGENTSTATE_CAMPAIGN_SEED ?? Date.now() % 2 ** 31);
  const pgKills = Number(process.env.AGENTSTATE_CAMPAIGN_KILLS ?? (quick ? 40 : 200));
  const liteKills = Math.max(20, Math.round(pgKills / 4));
  const restartThreads = quick ? 50 : 200;
  console.log(`crash campaign, seed ${seed} (AGENTSTATE_CAMPAIGN_SEED=${seed} replays it)`);

  const rows: string[][] = [];
  const problems: Report["problems"] = [];
  const add = (name: string, processes: number | string, r: Report) => {
    rows.push([
      name,
      String(processes),
      String(r.kills),
      String(r.recovered),
      String(r.parked),
      String(r.lostInput + r.notStarted),
      String(r.duplicates),
      String(r.reruns),
      String(r.forks),
      r.recoveryMs.length ? `${fmt(median(r.recoveryMs) / 1000)} s` : "n/a",
      String(r.problems.length),
    ]);
    problems.push(...r.problems);
    console.log(h.summary(name, r));
  };

  /** Rounds of random kills, each recovered right after it (so kill→recovered is honest). */
  const randomRounds = async (target: InstanceType<typeof h.Target>, total: number) => {
    const reference = await h.referenceRun(target);
    const reports: Report[] = [];
    let processes = 0;
    let kills = 0;
    for (let round = 0; kills < total; round += 1) {
      const run = await c.randomCampaign(target, {
        kills: Math.min(target.engine === "postgres" ? 40 : 10, total - kills),
        seed: seed + round,
        ops: reference.ops,
        idPrefix: `r${round}`,
        perChild: target.engine === "postgres" ? 10 : 5,
        concurrency: target.maxChildren,
      });
      reports.push(await h.recoverAndJudge(target, run.kills, reference.messages));
      processes += run.processes;
      kills += run.kills.length;
    }
    return { report: h.sumReports(reports), processes };
  };

  for (const engine of ["postgres", "pglite"] as const) {
    const sweep = await h.Target.create(engine, freshSchema(`sweep_${engine}`));
    try {
      const reference = await h.referenceRun(sweep);
      const points = c.sweepPoints(reference.ops, c.phasesFor(sweep));
      // Rounds of a few children, each recovered right after its kills.
      const perRound = 12 * sweep.maxChildren;
      const reports: Report[] = [];
      let processes = 0;
      for (let i = 0; i < points.length; i += perRound) {
        const run = await c.killAtPoints(sweep, points.slice(i, i + perRound), {
          idPrefix: `sw${i}`,
          concurrency: sweep.maxChildren,
        });
        reports.push(await h.recoverAndJudge(sweep, run.kills, reference.messages));
        processes += run.processes;
      }
      add(
        `every kill point (${c.phasesFor(sweep).join("/")}), ${engine}`,
        processes,
        h.sumReports(reports),
      );
    } finally {
      await sweep.dispose();
    }
    const random = await h.Target.create(engine, freshSchema(`random_${engine}`));
    try {
      const { report, processes } = await randomRounds(
        random,
        engine === "postgres" ? pgKills : liteKills,
      );
      add(`random points and times, ${engine}`, processes, report);
    } finally {
      await random.dispose();
    }
  }

  const zombie = await h.Target.create("postgres", freshSchema("zombie"));
  try {
    const reference = await h.referenceRun(zombie);
    const reports: Report[] = [];
    let rounds = 0;
    for (; rounds < (quick ? 1 : 3); rounds += 1) {
      const ids = Array.from({ length: 10 }, (_, i) => `z${rounds}-${i}`);
      const paused = await c.pauseChild(zombie, ids, 200 + ((seed + rounds * 211) % 600), seed);
      let before: Record<string, string> = {};
      let after: Record<string, string> = {};
      const zombies = paused.kills.map((k) => k.threadId);
      const { rowCounts } = await import("../packages/recovery/test/campaign/facts.js");
      const report = await h.recoverAndJudge(zombie, paused.kills, reference.messages, {
        afterRecovery: async () => {
          before = await zombie.use(({ saver }) => rowCounts(saver, zombies));
          await c.resumeChild(paused.child);
          after = await zombie.use(({ saver }) => rowCounts(saver, zombies));
        },
      });
      const ended = paused.child.ended();
      for (const id of zombies) {
        const e = ended.get(id);
        const fenced = e && (e.ok || e.code === "FENCED" || e.code === "LEASE_LOST");
        if (before[id] !== after[id] || !fenced) {
          report.problems.push({
            threadId: id,
            point: "zombie",
            expected: "fenced, no rows written after SIGCONT",
            problems: [`rows ${before[id]} → ${after[id]}; zombie run ended ${JSON.stringify(e)}`],
          });
        }
      }
      reports.push(report);
    }
    add("zombie (SIGSTOP until recovered elsewhere, SIGCONT)", rounds, h.sumReports(reports));
  } finally {
    await zombie.dispose();
  }

  const cluster = s.localCluster();
  if (process.env.AGENTSTATE_CAMPAIGN_RESTART === "1" && cluster) {
    const restart = await h.Target.create("postgres", freshSchema("restart"));
    try {
      const reference = await h.referenceRun(restart);
      const ids = Array.from({ length: restartThreads }, (_, i) => `o-${i}`);
      const run = await c.restartUnder(restart, ids, seed, {
        stop: async () => s.clusterCtl(cluster, "stop"),
        start: async () => {
          s.clusterCtl(cluster, "start");
          await s.waitServer(true);
        },
      });
      const report = await h.recoverAndJudge(restart, run.kills, reference.messages, {
        all: true,
      });
      add(`Postgres restart under ${restartThreads} threads`, 1, report);
    } finally {
      s.clusterCtl(cluster, "start");
      await s.waitServer(true);
      await restart.dispose();
    }
  } else {
    rows.push([
      `Postgres restart under ${restartThreads} threads`,
      "skipped",
      ...Array(9).fill(""),
    ]);
    console.log(
      cluster
        ? "restart campaign skipped: set AGENTSTATE_CAMPAIGN_RESTART=1 to stop and start the local server"
        : "restart campaign skipped: DATABASE_URL is not a local cluster this user can restart",
    );
  }

  console.log(
    `\nCrash campaign, seed ${seed}: recovery through \`agentstate recover\` (then --force for parked threads)\n`,
  );
  console.log(
    formatTable(
      [
        "campaign",
        "processes",
        "kills",
        "recovered",
        "parked→forced",
        "lost/unstarted",
        "duplicates",
        "idempotent re-runs",
        "forks",
        "median kill→recovered",
        "problems",
      ],
      rows,
    ),
  );
  console.log(
    "\nkills: threads that died mid-run; recovered: resumed by `recover` and equal to an uncrashed run;" +
      " parked: a non-idempotent call was in flight, finished by `recover --force`; duplicates: tool" +
      " executions beyond once (twice for idempotent in-flight calls); kill→recovered includes the" +
      " 2 s lease and the CLI's start.",
  );
  if (problems.length > 0) {
    console.log(`\n${problems.length} thread(s) with problems:`);
    for (const p of problems.slice(0, 20)) console.log(JSON.stringify(p));
    process.exitCode = 1;
  }
}

runWithSourceCondition(import.meta.url, main);

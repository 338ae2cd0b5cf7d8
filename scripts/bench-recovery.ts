/**
 * @agentstate/recovery: (1) a sweep over 10,000 threads of which 100 are stuck — candidate query
 * plans and the time to find, classify and resume them all; (2) the cost of durable runs (claim,
 * lease piggybacked on every checkpoint write, outcome) against plain runs on the same
 * checkpointer; (3) recovery throughput: 1,000 crashed threads resumed by four workers against
 * the same steps run fresh, with the sweep outcomes and the statements each side sent. Figures
 * from one run on this machine; nothing here asserts on time.
 *
 *   npx tsx scripts/bench-recovery.ts
 *   node --conditions=agentstate-source --import tsx scripts/bench-recovery.ts
 *   BENCH_PARTS=3 BENCH_QUICK=1 npx tsx scripts/bench-recovery.ts   # only part 3, small
 *
 * Env: DATABASE_URL (loopback only), BENCH_QUICK=1 (1,000 threads, fewer repetitions, 200
 * threads in part 3), BENCH_PARTS (comma-separated parts to run, e.g. "3" or "1,3"; default all).
 */
import { performance } from "node:perf_hooks";
import { runWithSourceCondition } from "./lib/main.js";
import {
  databaseUrl,
  dropSchema,
  freshSchema,
  newPool,
  StatementTimer,
  type TimedStatement,
} from "./lib/pg.js";
import { median, quantile } from "./lib/stats.js";
import { fmt, formatTable, passFail } from "./lib/table.js";

interface Config {
  threads: number;
  stuck: number;
  overheadSteps: number;
  /** Pairs of blocks per row: with steps under 100 ms, and with 100 ms steps. */
  overheadReps: { fast: number; slow: number };
  concurrency: number;
  /** Crashed threads the recovery-throughput part resumes (4 workers). */
  recoverThreads: number;
  /** Work per step (ms): 0 measures the database-bound floor; the others a tool or model call. */
  stepMs: number[];
  /** Parts to run (BENCH_PARTS): 1 sweep, 2 durable-run overhead, 3 recovery throughput. */
  parts: Set<number>;
}

function config(): Config {
  const quick = process.env.BENCH_QUICK === "1";
  return {
    threads: quick ? 1_000 : 10_000,
    stuck: 100,
    overheadSteps: 10,
    overheadReps: quick ? { fast: 21, slow: 5 } : { fast: 81, slow: 21 },
    concurrency: 8,
    stepMs: quick ? [0, 20] : [0, 20, 100],
    recoverThreads: quick ? 200 : 1_000,
    parts: parseParts(process.env.BENCH_PARTS),
  };
}

function parseParts(value: string | undefined): Set<number> {
  if (!value?.trim()) return new Set([1, 2, 3]);
  const parts = value.split(",").map((p) => Number(p.trim()));
  if (parts.some((p) => ![1, 2, 3].includes(p))) {
    throw new Error(`BENCH_PARTS: expected a comma-separated list of 1, 2, 3; got "${value}"`);
  }
  return new Set(parts);
}

export async function main(): Promise<void> {
  // Loaded here, not at the top: a plain `npx tsx` start re-executes itself with the
  // workspace-source condition first (see the end of the file).
  const { getCheckpointer } = await import("@agentstate/checkpointer");
  const { Annotation, END, START, StateGraph } = await import("@langchain/langgraph");
  const recovery = await import("../packages/recovery/src/index.js");
  const { candidateSql } = await import("../packages/recovery/src/ledger/candidates.js");

  const cfg = config();
  const schema = freshSchema("recovery");
  const pool = newPool(12);
  const timer = new StatementTimer(pool);
  const saver = await getCheckpointer({ pool, schema });
  const t = saver.tables;

  const State = Annotation.Root({
    n: Annotation<number>({ reducer: (a, b) => a + b, default: () => 0 }),
  });
  /** A chain of `steps` nodes, each adding 1: every step is a checkpoint write. */
  const chain = (steps: number, interruptBefore: string[] = [], stepMs = 0, on = saver) => {
    const g = new StateGraph(State) as any;
    const work = async () => {
      if (stepMs > 0) await new Promise((r) => setTimeout(r, stepMs));
      return { n: 1 };
    };
    for (let i = 1; i <= steps; i += 1) g.addNode(`s${i}`, work);
    g.addEdge(START, "s1");
    for (let i = 1; i < steps; i += 1) g.addEdge(`s${i}`, `s${i + 1}`);
    g.addEdge(`s${steps}`, END);
    return g.compile({ checkpointer: on, interruptBefore });
  };

  try {
    console.log(`database ${databaseUrl().replace(/:[^:@/]*@/, ":***@")}, schema ${schema}`);

    // ── 1. sweep ──────────────────────────────────────────────────────────────────────────
    if (cfg.parts.has(1)) {
      const graph = chain(4);
      await recovery.runDurably(graph, { n: 0 }, { configurable: { thread_id: "tpl-done" } });
      // Pending at s3 with no writes: what a run killed between steps leaves behind.
      await chain(4, ["s3"]).invoke({ n: 0 }, { configurable: { thread_id: "tpl-stuck" } });
      const done = cfg.threads - cfg.stuck;
      const built = performance.now();
      await cloneThreads(pool, t, "tpl-done", "done-", done);
      await cloneThreads(pool, t, "tpl-stuck", "stuck-", cfg.stuck);
      await pool.query(
        `INSERT INTO ${t.runs} (thread_id, status, graph_id, head_checkpoint_id, updated_at)
       SELECT 'done-' || lpad(g::text, 6, '0'), 'completed', NULL,
         (SELECT max(checkpoint_id) FROM ${t.checkpoints} WHERE thread_id = 'tpl-done'), now()
       FROM generate_series(1, $1) g`,
        [done],
      );
      // Owned by a worker that died a minute ago: lease expired, status still running.
      await pool.query(
        `INSERT INTO ${t.runs} (thread_id, status, owner, lease_until, heartbeat_at, fence, head_checkpoint_id)
       SELECT 'stuck-' || lpad(g::text, 6, '0'), 'running', 'bench-dead-worker',
         now() - interval '1 minute', now() - interval '70 seconds', 1,
         (SELECT max(checkpoint_id) FROM ${t.checkpoints} WHERE thread_id = 'tpl-stuck')
       FROM generate_series(1, $1) g`,
        [cfg.stuck],
      );
      await pool.query(`DELETE FROM ${t.runs} WHERE thread_id LIKE 'tpl-%'`);
      await pool.query(`DELETE FROM ${t.checkpoints} WHERE thread_id LIKE 'tpl-%'`);
      for (const table of [t.runs, t.checkpoints, t.blobs, t.writes, t.runQueue])
        await pool.query(`VACUUM ANALYZE ${table}`);
      const [{ n: checkpoints }] = (
        await pool.query(`SELECT count(*)::int AS n FROM ${t.checkpoints}`)
      ).rows;
      console.log(
        `built ${cfg.threads.toLocaleString("en-US")} threads (${checkpoints.toLocaleString("en-US")} checkpoints) in ${fmt((performance.now() - built) / 1000)} s`,
      );

      const sql = candidateSql(t);
      const tracked = await explain(pool, sql.tracked, [0, 100, false, []]);
      const untracked = await explain(pool, sql.untracked, [0, 300, 100, []]);

      const service = new recovery.RecoveryService(graph, { concurrency: 4, batchSize: 100 });
      const t0 = performance.now();
      const sweep = await service.sweep();
      const sweepMs = performance.now() - t0;
      const resumed = sweep.results.filter(
        (r) => r.status === "resumed" && "outcome" in r && r.outcome === "completed",
      ).length;
      const t1 = performance.now();
      const idle = await service.sweep();
      const idleMs = performance.now() - t1;
      const stillStuck = (
        await pool.query(`SELECT count(*)::int AS n FROM ${t.runs} WHERE status <> 'completed'`)
      ).rows[0].n;

      console.log(
        `\nSweep: ${cfg.threads.toLocaleString("en-US")} threads, ${cfg.stuck} stuck (target ≤ 2 s, candidate query index-only)\n`,
      );
      console.log(
        formatTable(
          ["measure", "value", "target"],
          [
            [
              "sweep: find + classify + resume all stuck",
              `${fmt(sweepMs, 0)} ms`,
              `≤ 2000 ms ${passFail(sweepMs <= 2000)}`,
            ],
            [
              "threads resumed to completion",
              `${resumed} / ${cfg.stuck}`,
              passFail(resumed === cfg.stuck && stillStuck === 0),
            ],
            ["per stuck thread", `${fmt(sweepMs / cfg.stuck)} ms`, ""],
            ["idle sweep (nothing stuck)", `${fmt(idleMs)} ms`, `found ${idle.scanned}`],
            [
              "ledger candidate query",
              `${fmt(tracked.ms)} ms — ${tracked.plan}`,
              passFail(tracked.indexOnly),
            ],
            [
              "untracked-thread query (threads with no ledger row)",
              `${fmt(untracked.ms)} ms — ${untracked.plan}`,
              untracked.indexOnly ? "index-only" : "(info)",
            ],
          ],
        ),
      );
    }

    // ── 2. durable-run overhead ───────────────────────────────────────────────────────────
    if (cfg.parts.has(2)) {
      let seq = 0;
      /** Runs one at a time (concurrency 1): when each started and ended, to split by statement. */
      const spans: Record<"plain" | "durable", RunSpan[]> = { plain: [], durable: [] };
      const block = async (graph: any, durable: boolean, concurrency: number, runs: number) => {
        const ids = Array.from({ length: runs }, () => `ov-${durable ? "d" : "p"}-${seq++}`);
        const start = performance.now();
        for (let i = 0; i < ids.length; i += concurrency) {
          await Promise.all(
            ids.slice(i, i + concurrency).map(async (id) => {
              const config = { configurable: { thread_id: id }, durability: "sync" as const };
              const from = timer.log.length;
              const t0 = performance.now();
              await (durable
                ? recovery.runDurably(graph, { n: 0 }, config)
                : graph.invoke({ n: 0 }, config));
              if (timer.on) {
                const span = { t0, t1: performance.now(), statements: timer.log.slice(from) };
                spans[durable ? "durable" : "plain"].push(span);
              }
            }),
          );
        }
        return (runs * cfg.overheadSteps) / ((performance.now() - start) / 1000);
      };
      const rows: string[][] = [];
      const cases = [
        { stepMs: 0, concurrency: 1 },
        ...cfg.stepMs.map((stepMs) => ({ stepMs, concurrency: cfg.concurrency })),
      ];
      for (const { stepMs, concurrency } of cases) {
        const graph = chain(cfg.overheadSteps, [], stepMs);
        // Small blocks (one round of `concurrency` runs, at least 4), many of them: a plain block
        // and a durable one side by side see the same machine, and the median of many pairs
        // holds still where a few long blocks swung by ±15 % on this shared machine. Slow steps
        // get fewer pairs, to keep the bench within minutes.
        const runs = Math.max(4, concurrency);
        const reps = stepMs >= 100 ? cfg.overheadReps.slow : cfg.overheadReps.fast;
        for (let w = 0; w < 3; w += 1) {
          await block(graph, false, concurrency, runs);
          await block(graph, true, concurrency, runs);
        }
        const plain: number[] = [];
        const durable: number[] = [];
        /** Each pair's overhead: its durable block against the plain block beside it. */
        const paired: number[] = [];
        // One run at a time: each run's statements are its own, so its time splits by statement.
        timer.on = concurrency === 1;
        for (let r = 0; r < reps; r += 1) {
          // Alternate the order so drift in machine load hits both alike.
          const order = r % 2 === 0 ? [false, true] : [true, false];
          for (const d of order)
            (d ? durable : plain).push(await block(graph, d, concurrency, runs));
          paired.push((1 - (durable[r] as number) / (plain[r] as number)) * 100);
        }
        timer.on = false;
        timer.log = [];
        const overhead = median(paired);
        rows.push([
          stepMs === 0 ? "0 (DB-bound)" : `${stepMs} ms`,
          String(concurrency),
          `${fmt(median(plain), 0)} steps/s`,
          `${fmt(median(durable), 0)} steps/s`,
          `${fmt(overhead, 1)} %`,
          `${fmt(quantile(paired, 0.25), 1)} … ${fmt(quantile(paired, 0.75), 1)} %`,
          `≤ 5 % ${passFail(overhead <= 5)}`,
        ]);
      }
      console.log(
        `\nDurable-run overhead: ${cfg.overheadSteps}-step runs, durability "sync", pairs of a plain and a durable block (one round of runs each, order alternating; ${cfg.overheadReps.fast} pairs, ${cfg.overheadReps.slow} with 100 ms steps): throughputs are the blocks' medians, the overhead the median of the pairs' own, with the middle half of them beside it\n`,
      );
      console.log(
        formatTable(
          [
            "work per step",
            "concurrency",
            "plain invoke",
            "runDurably",
            "overhead",
            "middle half of pairs",
            "target",
          ],
          rows,
        ),
      );
      if (spans.plain.length > 0 && spans.durable.length > 0) {
        console.log(
          `\nWhere a durable run's extra time goes (the concurrency-1 row, ${spans.plain.length} plain and ${spans.durable.length} durable runs; medians per run, from when each statement was sent and answered)\n`,
        );
        console.log(
          formatTable(["part of the run", "plain", "durable", "difference"], splitRows(spans)),
        );
      }
    }

    // ── 3. recovery throughput ────────────────────────────────────────────────────────────
    if (cfg.parts.has(3)) {
      // Crashed threads of a 12-step chain, stopped after step 1 (11 steps left), resumed by four
      // workers (each a RecoveryService on its own pool, sweeping until none is left), against the
      // same 11 steps run fresh with runDurably by the same four savers at the same concurrency,
      // after a small warm-up of both.
      const workers = 4;
      const perWorker = 4;
      const n = cfg.recoverThreads;
      const steps = 11;
      const savers = await Promise.all(
        Array.from({ length: workers }, async () => {
          const p = newPool(perWorker + 2);
          return { pool: p, saver: await getCheckpointer({ pool: p, schema }) };
        }),
      );
      try {
        await chain(steps + 1, ["s2"]).invoke({ n: 0 }, { configurable: { thread_id: "tpl-rec" } });
        /** `count` copies of the template, each owned by a worker that died a minute ago. */
        const crash = async (prefix: string, count: number) => {
          await cloneThreads(pool, t, "tpl-rec", prefix, count);
          await pool.query(
            `INSERT INTO ${t.runs} (thread_id, status, owner, lease_until, heartbeat_at, fence, head_checkpoint_id)
             SELECT $2 || lpad(g::text, 6, '0'), 'running', 'bench-dead-worker',
               now() - interval '1 minute', now() - interval '70 seconds', 1,
               (SELECT max(checkpoint_id) FROM ${t.checkpoints} WHERE thread_id = 'tpl-rec')
             FROM generate_series(1, $1) g`,
            [count, prefix],
          );
        };
        const left = async (prefix: string) =>
          (
            await pool.query(
              `SELECT count(*)::int AS n FROM ${t.runs} WHERE thread_id LIKE $1 || '%' AND status <> 'completed'`,
              [prefix],
            )
          ).rows[0].n as number;
        /** Four workers sweep until every thread of `prefix` completed. */
        const recoverAll = async (prefix: string) => {
          const started = performance.now();
          let sweeps = 0;
          const outcomes: Record<string, number> = {};
          await Promise.all(
            savers.map(async (w) => {
              const service = new recovery.RecoveryService(chain(steps + 1, [], 0, w.saver), {
                concurrency: perWorker,
                batchSize: 100,
                includeUntracked: false,
              });
              while ((await left(prefix)) > 0) {
                sweeps += 1;
                const sweep = await service.sweep();
                for (const [status, k] of Object.entries(sweep.counts)) {
                  outcomes[status] = (outcomes[status] ?? 0) + k;
                }
                // Nothing left for this worker right now (the others hold the rest): look again soon.
                if (!sweep.counts.resumed) await new Promise((r) => setTimeout(r, 200));
              }
            }),
          );
          return { seconds: (performance.now() - started) / 1000, sweeps, outcomes };
        };
        /** The same steps fresh: each worker runs `perWorker` threads at a time with runDurably. */
        const runFresh = async (prefix: string, count: number) => {
          const started = performance.now();
          let ran = 0;
          await Promise.all(
            savers.map(async (w, k) => {
              const graph = chain(steps, [], 0, w.saver);
              for (let i = k; i < count; i += workers * perWorker) {
                const ids = Array.from({ length: perWorker }, (_, j) => i + j * workers).filter(
                  (x) => x < count,
                );
                await Promise.all(
                  ids.map((x) =>
                    recovery.runDurably(
                      graph,
                      { n: 0 },
                      { configurable: { thread_id: `${prefix}${x}` } },
                    ),
                  ),
                );
                ran += ids.length;
              }
            }),
          );
          return { seconds: (performance.now() - started) / 1000, ran };
        };

        // Warm-up, both ways, so neither side pays for opening the pools' connections or for
        // compiling its code paths: 64 threads recovered, 64 run fresh, not measured.
        await crash("warm-", 64);
        await recoverAll("warm-");
        await runFresh("warm-fresh-", 64);
        await crash("rec-", n);
        await pool.query(`DELETE FROM ${t.checkpoints} WHERE thread_id = 'tpl-rec'`);
        await pool.query(`VACUUM ANALYZE ${t.runs}`);

        // Statements every worker's saver sent, by operation, per phase.
        let phase: Map<string, number> | undefined;
        const recoveryOps = new Map<string, number>();
        const freshOps = new Map<string, number>();
        for (const w of savers) {
          w.saver.onOperation((e) => phase?.set(e.operation, (phase.get(e.operation) ?? 0) + 1));
        }
        phase = recoveryOps;
        const { seconds: recoverSeconds, sweeps, outcomes } = await recoverAll("rec-");
        const finals = await pool.query(
          `SELECT count(*)::int AS n FROM ${t.runs} WHERE thread_id LIKE 'rec-%' AND status = 'completed'`,
        );

        phase = freshOps;
        const { seconds: freshSeconds, ran: fresh } = await runFresh("fresh-", n);
        phase = undefined;
        const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
        // One ledger read per thread a sweep looks at (its candidate row, or a classification).
        const looks =
          (recoveryOps.get("readCandidateFacts") ?? 0) + (recoveryOps.get("readThreadFacts") ?? 0);
        // What the sweep sent beyond the resumes themselves (the same statements a fresh run
        // sends per step): candidate queries, classifications, lost claims.
        const perOp = (m: Map<string, number>) =>
          [...m]
            .sort((a, b) => b[1] - a[1])
            .map(([op, k]) => `${op} ${fmt(k / n, 2)}`)
            .join(", ");
        const recRate = (n * steps) / recoverSeconds;
        const freshRate = (fresh * steps) / freshSeconds;
        console.log(
          `\nRecovery throughput: ${n.toLocaleString("en-US")} crashed threads, ${steps} steps left each, ${workers} workers × concurrency ${perWorker}\n`,
        );
        console.log(
          formatTable(
            ["measure", "value", "target"],
            [
              [
                "resumed to completion",
                `${finals.rows[0].n} / ${n} in ${fmt(recoverSeconds)} s (${sweeps} sweeps)`,
                passFail(finals.rows[0].n === n),
              ],
              ["recovery", `${fmt(recRate, 0)} steps/s`, ""],
              [
                "sweep outcomes, all workers",
                Object.entries(outcomes)
                  .map(([k, v]) => `${k} ${v}`)
                  .join(", "),
                "",
              ],
              [
                "statements per thread, recovery",
                `${fmt(total(recoveryOps) / n, 1)} (${looks} ledger reads for ${n} threads): ${perOp(recoveryOps)}`,
                "",
              ],
              [
                "statements per thread, fresh",
                `${fmt(total(freshOps) / Math.max(fresh, 1), 1)}: ${perOp(freshOps)}`,
                "",
              ],
              [
                "same steps fresh (runDurably)",
                `${fmt(freshRate, 0)} steps/s (${fresh} threads)`,
                "",
              ],
              [
                "recovery ÷ fresh",
                `${fmt(recRate / freshRate)}×`,
                `≥ 0.8× ${passFail(recRate / freshRate >= 0.8)}`,
              ],
            ],
          ),
        );
      } finally {
        for (const w of savers) {
          await w.saver.end().catch(() => {});
          await w.pool.end().catch(() => {});
        }
      }
    }
  } finally {
    await saver.end().catch(() => {});
    await pool.end().catch(() => {});
    await dropSchema(schema);
  }
}

type Tables = { checkpoints: string; blobs: string; writes: string };

/** Copies a template thread's checkpoints, blobs and writes to `count` new threads, in SQL. */
async function cloneThreads(
  pool: import("pg").Pool,
  t: Tables,
  template: string,
  prefix: string,
  count: number,
): Promise<void> {
  const id = `$2 || lpad(g::text, 6, '0')`;
  await pool.query(
    `INSERT INTO ${t.checkpoints} (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata, created_at)
     SELECT ${id}, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata, created_at - interval '1 hour'
     FROM ${t.checkpoints}, generate_series(1, $3) g WHERE thread_id = $1`,
    [template, prefix, count],
  );
  await pool.query(
    `INSERT INTO ${t.blobs} (thread_id, checkpoint_ns, channel, version, type, blob)
     SELECT ${id}, checkpoint_ns, channel, version, type, blob
     FROM ${t.blobs}, generate_series(1, $3) g WHERE thread_id = $1`,
    [template, prefix, count],
  );
  await pool.query(
    `INSERT INTO ${t.writes} (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, blob, task_path)
     SELECT ${id}, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, blob, task_path
     FROM ${t.writes}, generate_series(1, $3) g WHERE thread_id = $1`,
    [template, prefix, count],
  );
}

/** EXPLAIN ANALYZE: execution time, the scan nodes used, and whether every scan is index-only. */
async function explain(pool: import("pg").Pool, sql: string, params: unknown[]) {
  const { rows } = await pool.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, params);
  const root = rows[0]["QUERY PLAN"][0];
  const scans: string[] = [];
  const walk = (node: any) => {
    // A branch the executor never entered (e.g. the run-queue part, with no queued input)
    // reads nothing: only executed scans count.
    if (/Scan/.test(node["Node Type"]) && node["Actual Loops"] !== 0) {
      const fetches =
        node["Heap Fetches"] !== undefined ? `, heap fetches ${node["Heap Fetches"]}` : "";
      scans.push(
        `${node["Node Type"]}${node["Index Name"] ? ` on ${node["Index Name"]}` : ""}${fetches}`,
      );
    }
    for (const child of node.Plans ?? []) walk(child);
  };
  walk(root.Plan);
  return {
    ms: root["Execution Time"] as number,
    plan: scans.join("; "),
    // CTE and subquery scans read a computed result, not a table; every table access must be
    // index-only.
    indexOnly:
      scans.some((s) => s.startsWith("Index Only Scan")) &&
      scans.every((s) => /^(Index Only Scan|CTE Scan|Subquery Scan)/.test(s)),
  };
}

/** One run of the concurrency-1 row: when it started and ended, and the statements it sent. */
interface RunSpan {
  t0: number;
  t1: number;
  statements: TimedStatement[];
}

/**
 * A run's time split at its statements. Plain: the first read, the steps' writes. Durable: the
 * claim (which carries the first read), the same writes, the outcome. Parts: before the first
 * statement; the first statement; from it to the first write (the graph starting, and for a
 * durable run the lease set up); the writes and the steps between them; after the last write to
 * the return (for a durable run, the outcome statement and what waits on it).
 */
function splitRun({ t0, t1, statements: s }: RunSpan, durable: boolean) {
  const first = s[0];
  const writes = s.slice(1, durable ? -1 : undefined);
  const firstWrite = writes[0];
  const lastEnd = Math.max(...writes.map((w) => w.end));
  if (!first || !firstWrite || !Number.isFinite(lastEnd)) return undefined;
  // Time with at least one write in flight (a step's writes overlap), and the rest: the graph.
  let inFlight = 0;
  let reached = firstWrite.start;
  for (const w of [...writes].sort((a, b) => a.start - b.start)) {
    inFlight += Math.max(0, w.end - Math.max(w.start, reached));
    reached = Math.max(reached, w.end);
  }
  const steps = lastEnd - firstWrite.start;
  return {
    before: first.start - t0,
    first: first.end - first.start,
    start: firstWrite.start - first.end,
    steps,
    inFlight,
    between: steps - inFlight,
    end: t1 - lastEnd,
    total: t1 - t0,
  };
}

function splitRows(spans: Record<"plain" | "durable", RunSpan[]>): string[][] {
  const parts = (durable: boolean) =>
    spans[durable ? "durable" : "plain"]
      .map((span) => splitRun(span, durable))
      .filter((p) => p !== undefined);
  const plain = parts(false);
  const durable = parts(true);
  const labels: Array<[keyof NonNullable<ReturnType<typeof splitRun>>, string]> = [
    ["before", "call to its first statement"],
    ["first", "first statement (plain: the first read; durable: the claim with it, committed)"],
    ["start", "first statement to the first write (durable: lease set up)"],
    ["steps", "the steps, first write to last (guarded writes when durable)"],
    ["inFlight", "  of which a write was in flight"],
    ["between", "  of which no write was (the graph's own work)"],
    ["end", "last write to the return (durable: the outcome statement)"],
    ["total", "the whole run"],
  ];
  const plainTotal = median(plain.map((p) => p.total));
  return labels.map(([key, label]) => {
    const a = median(plain.map((p) => p[key]));
    const b = median(durable.map((p) => p[key]));
    const diff = b - a;
    return [
      label,
      `${fmt(a, 2)} ms`,
      `${fmt(b, 2)} ms`,
      `${diff >= 0 ? "+" : ""}${fmt(diff, 2)} ms (${fmt((diff / plainTotal) * 100, 1)} % of a plain run)`,
    ];
  });
}

runWithSourceCondition(import.meta.url, main);

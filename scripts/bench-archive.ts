/**
 * @agentstate/recovery archive: throughput of `archive()` for N finished 20-step threads on
 * Postgres + s3rver (threads/s, MB/s), the bytes they take in the cold tier against Postgres,
 * and `restore()` of a sample. Figures from one run on this machine; nothing here asserts.
 *
 *   node --conditions=agentstate-source --import tsx scripts/bench-archive.ts
 *
 * Env: DATABASE_URL (loopback only), BENCH_ARCHIVE_THREADS (default 2,000, about a minute here; 10000 for the full
 * run), BENCH_ARCHIVE_CONCURRENCY (default 4), BENCH_QUICK=1 (100 threads).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { runWithSourceCondition } from "./lib/main.js";
import { dropSchema, freshSchema, newPool } from "./lib/pg.js";
import { fmt, fmtBytes, formatTable } from "./lib/table.js";

/** Threads run through the real graph; the rest are copies of them (copyThread, same rows). */
const SEEDS = 20;
const ROUNDS = 10; // model → tools: 20 steps

function config() {
  const quick = process.env.BENCH_QUICK === "1";
  return {
    threads: Number(process.env.BENCH_ARCHIVE_THREADS ?? (quick ? 100 : 2_000)),
    concurrency: Number(process.env.BENCH_ARCHIVE_CONCURRENCY ?? 4),
    restoreSample: quick ? 20 : 100,
  };
}

export async function main(): Promise<void> {
  // The AWS SDK prints a Node-version notice in every process it loads in; noise here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  // Loaded here: a plain `npx tsx` start re-executes itself with the workspace-source condition.
  const { PostgresCheckpointer } = await import("@agentstate/checkpointer");
  const { archive, restore } = await import("../packages/recovery/src/index.js");
  const { startS3rver } = await import("@agentstate/test-support/blob-servers");
  const { toolLoopGraph, runTurn } = await import("./lib/graph.js");
  const c = config();
  const schema = freshSchema("archive");
  const pool = newPool(c.concurrency + 4);
  const s3 = await startS3rver("agentstate-bench");
  const saver = new PostgresCheckpointer(pool, undefined, { schema });
  try {
    await saver.setup();
    console.log(`[archive] building ${c.threads} finished ${2 * ROUNDS}-step threads…`);
    const graph = toolLoopGraph({ rounds: ROUNDS, mode: "plain", checkpointer: saver });
    const ids = Array.from({ length: c.threads }, (_, i) => `bench-${String(i).padStart(6, "0")}`);
    const seeds = ids.slice(0, Math.min(SEEDS, ids.length));
    for (const id of seeds) await runTurn(graph, id, ROUNDS);
    let next = seeds.length;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < ids.length) {
          const i = next++;
          await saver.copyThread(seeds[i % seeds.length] as string, ids[i] as string);
        }
      }),
    );
    const [pg] = await saver.run<{ bytes: number; checkpoints: number }>(
      "bench",
      `SELECT (pg_total_relation_size(to_regclass($1)) + pg_total_relation_size(to_regclass($2))
         + pg_total_relation_size(to_regclass($3)))::float8 AS bytes,
         (SELECT count(*) FROM ${saver.tables.checkpoints})::int AS checkpoints`,
      [saver.tables.checkpoints, saver.tables.blobs, saver.tables.writes],
    );
    const store = {
      s3: { credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } },
      env: { AWS_ENDPOINT_URL_S3: s3.endpoint },
    };
    const load = () => fmt(loadavg()[0] ?? 0, 2);
    const loadBefore = load();
    console.log(`[archive] archiving to s3://${s3.bucket}/bench (concurrency ${c.concurrency})…`);
    const started = performance.now();
    const result = await archive(saver, {
      to: `s3://${s3.bucket}/bench`,
      olderThan: new Date(Date.now() + 3_600_000),
      concurrency: c.concurrency,
      store,
      onProgress: (p) => {
        if (p.scanned % 1_000 === 0) console.log(`[archive]   ${p.archived} archived`);
      },
    });
    const seconds = (performance.now() - started) / 1000;
    if (result.archived !== c.threads) {
      throw new Error(
        `archived ${result.archived} of ${c.threads}: ${JSON.stringify(result.threads.find((t) => t.outcome !== "archived"))}`,
      );
    }
    const sample = ids.slice(0, Math.min(c.restoreSample, ids.length));
    const restoreStarted = performance.now();
    const back = await restore(saver, sample, { store });
    const restoreSeconds = (performance.now() - restoreStarted) / 1000;
    if (back.restored !== sample.length)
      throw new Error(`restored ${back.restored} of ${sample.length}`);
    const MB = 1024 * 1024;
    const rows: string[][] = [
      [
        "threads archived (20 steps each)",
        fmt(result.archived),
        `${fmt(pg?.checkpoints ?? 0)} checkpoints`,
      ],
      [
        "archive throughput",
        `${fmt(result.archived / seconds)} threads/s`,
        `${fmt(seconds, 1)} s total, concurrency ${c.concurrency}`,
      ],
      [
        "rows moved (uncompressed)",
        `${fmt(result.payloadBytes / MB / seconds)} MB/s`,
        fmtBytes(result.payloadBytes),
      ],
      ["written to S3 (gzip)", `${fmt(result.bytes / MB / seconds)} MB/s`, fmtBytes(result.bytes)],
      [
        "bytes per thread: Postgres (tables + indexes + TOAST)",
        fmtBytes((pg?.bytes ?? 0) / c.threads),
        fmtBytes(pg?.bytes ?? 0),
      ],
      [
        "bytes per thread: cold tier (one gzip file)",
        fmtBytes(result.bytes / c.threads),
        `${fmt((pg?.bytes ?? 0) / result.bytes, 1)}× smaller than in Postgres`,
      ],
      [
        "restore throughput",
        `${fmt(sample.length / restoreSeconds)} threads/s`,
        `${sample.length} threads, one at a time`,
      ],
    ];
    console.log(`\n${formatTable(["measure", "result", "detail"], rows)}`);
    console.log(
      `\nload average (1 min): ${loadBefore} before, ${load()} after; ${process.env.BENCH_QUICK === "1" ? "BENCH_QUICK run" : ""}`,
    );
    await mkdir(".bench", { recursive: true });
    await writeFile(
      ".bench/archive.json",
      `${JSON.stringify({ config: c, seconds, restoreSeconds, postgresBytes: pg?.bytes, archived: result.archived, bytes: result.bytes, payloadBytes: result.payloadBytes }, null, 2)}\n`,
    );
  } finally {
    await s3.stop();
    await pool.end();
    await dropSchema(schema);
  }
}

runWithSourceCondition(import.meta.url, main);

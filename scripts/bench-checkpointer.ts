/**
 * PostgresCheckpointer ("ours") against the official PostgresSaver, MemorySaver and a "floor"
 * saver, all on the same Postgres: tool-loop throughput, getTuple and list on long threads, and
 * storage with and without DeltaChannel. Ratios from one run; nothing here is a timed test.
 *
 *   node --conditions=agentstate-source --import tsx scripts/bench-checkpointer.ts
 *
 * Env: DATABASE_URL (loopback only), BENCH_QUICK=1 (smaller smoke run), BENCH_MAX_WRITES=<n> (our
 * maxConcurrentWrites), BENCH_MAX_LOAD=<n>
 * (wait up to 90 s for the 1-minute load average to drop under n before measuring).
 */
import { execSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { BaseMessage } from "@langchain/core/messages";
import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import {
  type BuiltThread,
  buildThread,
  checkpointAtStep,
  latest,
  listCount,
  logicalBytes,
  readBackMessages,
  type StorageBytes,
  storageBytes,
} from "./lib/long-thread.js";
import { runIfEntryPoint } from "./lib/main.js";
import { databaseUrl, newPool } from "./lib/pg.js";
import { analyze, undecodedSerde, withSerde } from "./lib/reads.js";
import { type BenchSaver, createSaver, type SaverKind } from "./lib/savers.js";
import { interleavedMedians, loadAverage, median, waitForQuietMachine } from "./lib/stats.js";
import { fmt, fmtBytes, formatTable, passFail } from "./lib/table.js";
import { benchThroughput, type ThroughputResult } from "./lib/throughput.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

interface Config {
  throughput: {
    threads: number;
    concurrency: number;
    rounds: number;
    warmup: number;
    reps: number;
  };
  longSteps: number;
  shortSteps: number;
  getTuple: { warmup: number; reps: number };
  listLimit: number;
  listReps: number;
}

function config(): Config {
  const quick = process.env.BENCH_QUICK === "1";
  return {
    throughput: {
      threads: quick ? 20 : 100,
      concurrency: 10,
      rounds: 7,
      warmup: 1,
      // A multiple of the 4 savers, so each runs in every position of the rotation equally often.
      reps: quick ? 4 : 8,
    },
    longSteps: quick ? 200 : 1000,
    shortSteps: 10,
    getTuple: { warmup: 3, reps: quick ? 5 : 15 },
    listLimit: 100,
    listReps: quick ? 1 : 3,
  };
}

const log = (msg: string) => console.log(`[bench-checkpointer] ${msg} (load ${loadAverage()})`);

interface PerSaver<T> {
  ours: T;
  official: T;
}

interface Results {
  throughput: ThroughputResult;
  getTuple: PerSaver<{
    long: number;
    short: number;
    longAtShortStep: number;
    rawLong: number;
    rawShort: number;
    deltaLong: number;
    deltaShort: number;
  }>;
  list: PerSaver<{ plain: number; raw: number; delta: number }>;
  storage: PerSaver<{ plain: StorageBytes; delta: StorageBytes }>;
  logicalBytes: number;
  readBack: PerSaver<{ count: number; matches: boolean; ms: number }>;
  buildMs: PerSaver<{ plain: number; delta: number }>;
}

async function runOnce(cfg: Config): Promise<Results> {
  const kinds: SaverKind[] = ["ours", "official", "memory", "floor"];
  const savers: BenchSaver[] = [];
  try {
    // BENCH_MAX_WRITES: our maxConcurrentWrites, to compare group-commit settings.
    const maxWrites = process.env.BENCH_MAX_WRITES;
    const oursOptions = maxWrites ? { maxConcurrentWrites: Number(maxWrites) } : {};
    for (const kind of kinds) {
      savers.push(
        await createSaver(kind, cfg.throughput.concurrency, kind === "ours" ? oursOptions : {}),
      );
    }
    const [ours, official] = savers as [BenchSaver, BenchSaver];

    log(
      `throughput: ${cfg.throughput.threads} threads × ${2 * cfg.throughput.rounds} steps, ${cfg.throughput.concurrency} concurrent, ${cfg.throughput.warmup} warm-up + ${cfg.throughput.reps} reps per saver`,
    );
    const throughput = await benchThroughput(savers, cfg.throughput);

    log(`building ${cfg.longSteps}- and ${cfg.shortSteps}-step threads with the real graph`);
    const built = new Map<BenchSaver, Record<string, BuiltThread>>();
    for (const s of [ours, official]) {
      built.set(s, {
        long: await buildThread(s.saver, "long-plain", cfg.longSteps, "plain"),
        short: await buildThread(s.saver, "short-plain", cfg.shortSteps, "plain"),
        longDelta: await buildThread(s.saver, "long-delta", cfg.longSteps, "delta"),
        shortDelta: await buildThread(s.saver, "short-delta", cfg.shortSteps, "delta"),
      });
      await analyze(s);
    }
    const t = (s: BenchSaver) => built.get(s)!;
    const expected = JSON.stringify(t(ours).long!.messages);
    for (const s of [ours, official]) {
      for (const th of Object.values(t(s))) {
        if (th.messages.length !== th.steps + 1) {
          throw new Error(
            `${s.kind} ${th.threadId}: ${th.messages.length} messages after ${th.steps} steps`,
          );
        }
      }
    }

    log("getTuple (LangChain serde, and undecoded to isolate the saver)");
    const getTupleFns = async (s: BenchSaver) => {
      const raw = withSerde(s, undecodedSerde());
      const atShort = await checkpointAtStep(s.saver, "long-plain", cfg.shortSteps);
      const g =
        (saver: BaseCheckpointSaver, cfg: Parameters<BaseCheckpointSaver["getTuple"]>[0]) => () =>
          saver.getTuple(cfg);
      return [
        g(s.saver, latest("long-plain")),
        g(s.saver, latest("short-plain")),
        g(s.saver, atShort),
        g(raw, latest("long-plain")),
        g(raw, latest("short-plain")),
        g(s.saver, latest("long-delta")),
        g(s.saver, latest("short-delta")),
      ];
    };
    const fns = [...(await getTupleFns(ours)), ...(await getTupleFns(official))];
    const gt = await interleavedMedians(fns, cfg.getTuple);
    const gtOf = (o: number) => ({
      long: gt[o]!,
      short: gt[o + 1]!,
      longAtShortStep: gt[o + 2]!,
      rawLong: gt[o + 3]!,
      rawShort: gt[o + 4]!,
      deltaLong: gt[o + 5]!,
      deltaShort: gt[o + 6]!,
    });

    log(`list(limit ${cfg.listLimit}) on the ${cfg.longSteps}-step threads`);
    const lim = cfg.listLimit;
    const listed = (saver: BaseCheckpointSaver, thread: string) => async () => {
      const n = await listCount(saver, thread, lim);
      if (n !== Math.min(lim, cfg.longSteps + 2)) throw new Error(`list returned ${n} checkpoints`);
    };
    const [oursPlain, offPlain] = await interleavedMedians(
      [listed(ours.saver, "long-plain"), listed(official.saver, "long-plain")],
      { warmup: 0, reps: 1 },
    );
    const [oursRaw, offRaw, oursDelta, offDelta] = await interleavedMedians(
      [
        listed(withSerde(ours, undecodedSerde()), "long-plain"),
        listed(withSerde(official, undecodedSerde()), "long-plain"),
        listed(ours.saver, "long-delta"),
        listed(official.saver, "long-delta"),
      ],
      { warmup: 1, reps: cfg.listReps },
    );

    log("storage and DeltaChannel read-back");
    const storage = async (s: BenchSaver) => ({
      plain: await storageBytes(s.pool!, s.schema!, "long-plain"),
      delta: await storageBytes(s.pool!, s.schema!, "long-delta"),
    });
    const readBack = async (s: BenchSaver) => {
      let messages: BaseMessage[] = [];
      const [ms] = await interleavedMedians(
        [
          async () => {
            messages = await readBackMessages(s.saver, t(s).longDelta!);
          },
        ],
        { warmup: 1, reps: 3 },
      );
      return { count: messages.length, matches: JSON.stringify(messages) === expected, ms: ms! };
    };

    return {
      throughput,
      getTuple: { ours: gtOf(0), official: gtOf(7) },
      list: {
        ours: { plain: oursPlain!, raw: oursRaw!, delta: oursDelta! },
        official: { plain: offPlain!, raw: offRaw!, delta: offDelta! },
      },
      storage: { ours: await storage(ours), official: await storage(official) },
      logicalBytes: logicalBytes(t(ours).long!.messages),
      readBack: { ours: await readBack(ours), official: await readBack(official) },
      buildMs: {
        ours: { plain: t(ours).long!.buildMs, delta: t(ours).longDelta!.buildMs },
        official: { plain: t(official).long!.buildMs, delta: t(official).longDelta!.buildMs },
      },
    };
  } finally {
    for (const s of savers) await s.dispose().catch((e) => log(`cleanup of ${s.kind}: ${e}`));
  }
}

/** "ours N× faster" or "ours N× slower", from the official and our times. */
const speed = (official: number, ours: number) =>
  official >= ours
    ? `ours ${fmt(official / ours)}× faster`
    : `ours ${fmt(ours / official)}× slower`;

function report(cfg: Config, r: Results): string {
  const tp = r.throughput.stepsPerSec;
  const st = r.throughput.statementsPerStep;
  const g = r.getTuple;
  const L = cfg.longSteps;
  const S = cfg.shortSteps;
  const ms = (n: number) => `${fmt(n)} ms`;
  const growth = (a: number, b: number) => `${fmt(a / b)}× (${ms(a)} / ${ms(b)})`;
  // Savers run back to back within a repetition, so per-repetition ratios cancel load drift
  // between repetitions; the ratio reported is their median.
  const paired = (a: SaverKind, b: SaverKind) => {
    const xs = r.throughput.samples[a] ?? [];
    const ys = r.throughput.samples[b] ?? [];
    return xs.map((x, i) => x / ys[i]!);
  };
  const vsFloor = paired("ours", "floor");
  const oursVsFloor = median(vsFloor);
  const floorSpread = `min ${fmt(Math.min(...vsFloor))} · median ${fmt(oursVsFloor)} · max ${fmt(Math.max(...vsFloor))}`;
  const oursVsOfficial = median(paired("ours", "official"));
  const storageRatio = (b: StorageBytes) => b.payload.total / r.logicalBytes;
  const gtRow = (label: string, key: "long" | "rawLong" | "deltaLong" | "longAtShortStep") => {
    const short = key === "rawLong" ? "rawShort" : key === "deltaLong" ? "deltaShort" : "short";
    const o = g.ours[key] / g.ours[short];
    const f = g.official[key] / g.official[short];
    return [
      label,
      growth(g.ours[key], g.ours[short]),
      growth(g.official[key], g.official[short]),
      "—",
      `${L}-step: ${speed(g.official[key], g.ours[key])}`,
      "≤ 1.5×",
      `${passFail(o <= 1.5)} (official ${passFail(f <= 1.5)})`,
    ];
  };
  const listRow = (label: string, key: "plain" | "raw" | "delta") => {
    const speedup = r.list.official[key] / r.list.ours[key];
    return [
      label,
      ms(r.list.ours[key]),
      ms(r.list.official[key]),
      "—",
      speed(r.list.official[key], r.list.ours[key]),
      "≥ 20× faster",
      passFail(speedup >= 20),
    ];
  };
  const so = r.storage.ours;
  const sf = r.storage.official;
  const rows = [
    [
      `tool loop steps/s (${cfg.throughput.threads} threads × ${2 * cfg.throughput.rounds} steps, ${cfg.throughput.concurrency} concurrent)`,
      fmt(tp.ours!),
      fmt(tp.official!),
      `${fmt(tp.memory!)} / ${fmt(tp.floor!)}`,
      `ours/floor ${fmt(oursVsFloor)} · ours/official ${fmt(oursVsOfficial)}`,
      "≥ 0.9× floor",
      passFail(oursVsFloor >= 0.9),
    ],
    [
      `group commit: ours/floor per repetition (${vsFloor.length} reps)`,
      floorSpread,
      "",
      "",
      "",
      "every rep > 1× floor",
      passFail(vsFloor.length > 0 && Math.min(...vsFloor) > 1),
    ],
    [
      "Postgres statements per step",
      fmt(st.ours!),
      fmt(st.official!),
      `— / ${fmt(st.floor!)}`,
      "",
      "info",
      "",
    ],
    gtRow(`getTuple latest, ${L} ÷ ${S} steps, messages (end to end)`, "long"),
    gtRow(`getTuple latest, ${L} ÷ ${S} steps, messages (saver only)`, "rawLong"),
    gtRow(
      `getTuple same state: step ${S} of the ${L}-step thread ÷ ${S}-step thread`,
      "longAtShortStep",
    ),
    gtRow(`getTuple latest, ${L} ÷ ${S} steps, DeltaChannel`, "deltaLong"),
    listRow(`list(limit ${cfg.listLimit}), ${L}-step messages thread (end to end, 1 run)`, "plain"),
    listRow(`list(limit ${cfg.listLimit}), ${L}-step messages thread (saver only)`, "raw"),
    listRow(`list(limit ${cfg.listLimit}), ${L}-step DeltaChannel thread (end to end)`, "delta"),
    [
      `storage ÷ logical bytes, ${L}-step thread, DeltaChannel`,
      `${fmt(storageRatio(so.delta))}× (${fmtBytes(so.delta.payload.total)})`,
      `${fmt(storageRatio(sf.delta))}× (${fmtBytes(sf.delta.payload.total)})`,
      "—",
      `logical ${fmtBytes(r.logicalBytes)}`,
      "≤ 3× (ours)",
      passFail(storageRatio(so.delta) <= 3),
    ],
    [
      `storage ÷ logical bytes, ${L}-step thread, plain reducer`,
      `${fmt(storageRatio(so.plain))}× (${fmtBytes(so.plain.payload.total)})`,
      `${fmt(storageRatio(sf.plain))}× (${fmtBytes(sf.plain.payload.total)})`,
      "—",
      `DeltaChannel saves ${fmt(storageRatio(sf.plain) / storageRatio(so.delta))}× vs official plain`,
      "info (≈500× expected)",
      "",
    ],
    [
      `DeltaChannel read-back: getState of the ${L}-step thread`,
      `${r.readBack.ours.count} msgs, ${ms(r.readBack.ours.ms)}`,
      `${r.readBack.official.count} msgs, ${ms(r.readBack.official.ms)}`,
      "—",
      `same messages as plain run: ours ${r.readBack.ours.matches}, official ${r.readBack.official.matches}`,
      `${L} steps + 1 input`,
      passFail(r.readBack.ours.count === L + 1 && r.readBack.ours.matches),
    ],
  ];
  const header = ["metric", "ours", "official", "MemorySaver / floor", "ratio", "target", "result"];
  const storageLine = (who: string, b: StorageBytes) =>
    `  ${who}: checkpoints ${fmtBytes(b.payload.checkpoints)} (${b.rows.checkpoints} rows), blobs ${fmtBytes(b.payload.blobs)} (${b.rows.blobs}), writes ${fmtBytes(b.payload.writes)} (${b.rows.writes}); on disk after TOAST compression ${fmtBytes(b.stored)} = ${fmt(b.stored / r.logicalBytes)}× logical`;
  const samples = Object.entries(r.throughput.samples)
    .map(([k, v]) => `${k} ${v!.map((x) => fmt(x)).join(", ")}`)
    .join(" | ");
  return [
    formatTable(header, rows),
    "",
    `Throughput samples (steps/s per repetition): ${samples}`,
    `Per-repetition ratios (median in the table): ours/floor ${paired("ours", "floor")
      .map((x) => fmt(x))
      .join(", ")} · ours/official ${paired("ours", "official")
      .map((x) => fmt(x))
      .join(", ")}`,
    `Group commit (ours, measured repetitions): statements by writes carried — ${batchLine(r.throughput.batchSizes.ours)}`,
    `Long threads: one graph invoke each (a human message, then model/tools alternating; every step adds one message); build took ours ${fmt(r.buildMs.ours.plain / 1000)} s plain / ${fmt(r.buildMs.ours.delta / 1000)} s delta, official ${fmt(r.buildMs.official.plain / 1000)} s / ${fmt(r.buildMs.official.delta / 1000)} s.`,
    "end to end = the default JsonPlusSerializer revives every LangChain message (≈50 ms per 1,000 messages, the same for any saver);",
    "saver only = a serde that returns the stored bytes undecoded: SQL, transfer, driver decoding and tuple assembly only.",
    `Storage = octet_length of blob bytes + checkpoint and metadata JSON, for the thread's rows in checkpoints, checkpoint_blobs, checkpoint_writes; logical = JSON length of the final ${L + 1} messages.`,
    storageLine("ours, DeltaChannel", so.delta),
    storageLine("ours, plain", so.plain),
    storageLine("official, plain", sf.plain),
  ].join("\n");
}

/** "1 write: 812 · 2: 140 · …", and the share of writes that went in a combined statement. */
function batchLine(h: Map<number, number> | undefined): string {
  if (!h || h.size === 0) return "none recorded";
  let writes = 0;
  let shared = 0;
  for (const [size, n] of h) {
    writes += size * n;
    if (size > 1) shared += size * n;
  }
  const parts = [...h].map(([size, n]) => `${size}: ${n}`).join(" · ");
  return `${parts} (writes per statement: statements); ${fmt((100 * shared) / writes)} % of writes shared a statement`;
}

function environment(): string {
  let commit = "unknown";
  try {
    commit = execSync("git rev-parse --short HEAD", { cwd: ROOT }).toString().trim();
    const dirty = execSync("git status --porcelain packages/checkpointer/src", { cwd: ROOT })
      .toString()
      .trim();
    if (dirty) commit += " + uncommitted changes in packages/checkpointer/src";
  } catch {}
  return `node ${process.version}, ${cpus().length} cores, checkpointer at ${commit}`;
}

async function serverVersion(): Promise<string> {
  const pool = newPool(1);
  try {
    const { rows } = await pool.query("SHOW server_version");
    return `Postgres ${rows[0].server_version}`;
  } finally {
    await pool.end();
  }
}

/** Connection lost mid-run (another process restarted or terminated backends): worth one retry. */
function isConnectionLoss(error: unknown): boolean {
  const code = (error as { code?: string })?.code ?? "";
  const message = String((error as Error)?.message ?? "");
  return (
    /^(57P0[123]|08\d\d\d)$/.test(code) ||
    /ECONNRESET|Connection terminated|terminating connection/i.test(message)
  );
}

export async function main(): Promise<void> {
  const cfg = config();
  databaseUrl();
  const maxLoad = Number(process.env.BENCH_MAX_LOAD);
  if (maxLoad > 0) {
    log(`waiting (≤ 90 s) for the 1-minute load average to drop under ${maxLoad}`);
    await waitForQuietMachine(maxLoad, 90_000);
  }
  const startLoad = loadAverage();
  log(`${environment()}, ${await serverVersion()}`);
  const started = Date.now();
  let results: Results;
  try {
    results = await runOnce(cfg);
  } catch (error) {
    if (!isConnectionLoss(error)) throw error;
    log(`connection lost (${(error as Error).message}); running the bench once more`);
    results = await runOnce(cfg);
  }
  const seconds = (Date.now() - started) / 1000;
  const table = report(cfg, results);
  console.log(`\n## Checkpointer bench (${new Date().toISOString()})\n`);
  console.log(
    `Load average (1/5/15 min): ${startLoad} at start, ${loadAverage()} at end · ${environment()} · ${fmt(seconds)} s${process.env.BENCH_QUICK === "1" ? " · QUICK run" : ""}\n`,
  );
  console.log(table);
  console.log("");
  const out = resolve(ROOT, ".bench");
  mkdirSync(out, { recursive: true });
  writeFileSync(
    resolve(out, "checkpointer.json"),
    `${JSON.stringify({ at: new Date().toISOString(), loadavg: loadavg(), config: cfg, results }, null, 2)}\n`,
  );
}

runIfEntryPoint(import.meta.url, main);

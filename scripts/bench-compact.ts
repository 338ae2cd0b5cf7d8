/**
 * Compact storage (`storage: "compact"`) against our default mode, the official PostgresSaver and
 * the deserialization floor, on the same Postgres: stored bytes ÷ logical bytes, put throughput,
 * getTuple and list on a plain-reducer 1,000-step thread and a 200-turn tool agent with files.
 *
 *   node --conditions=agentstate-source --import tsx scripts/bench-compact.ts
 *
 * Env: DATABASE_URL (loopback only), BENCH_QUICK=1 (smaller smoke run).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type BaseCheckpointSaver, JsonPlusSerializer } from "@langchain/langgraph-checkpoint";
import { agentGraph, runTurns } from "./lib/agent-graph.js";
import { buildThread, latest, listCount, logicalBytes, storageBytes } from "./lib/long-thread.js";
import { runIfEntryPoint } from "./lib/main.js";
import { databaseUrl } from "./lib/pg.js";
import { analyze, undecodedSerde, withSerde } from "./lib/reads.js";
import { type BenchSaver, createSaver } from "./lib/savers.js";
import { interleavedSpreads, loadAverage, median, type Spread, timeMs } from "./lib/stats.js";
import { fmt, fmtBytes, formatTable, passFail } from "./lib/table.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const quick = process.env.BENCH_QUICK === "1";
const CFG = {
  steps: quick ? 200 : 1000,
  buildReps: quick ? 1 : 3,
  turns: quick ? 40 : 200,
  getTuple: { warmup: 3, reps: quick ? 5 : 15 },
  list: { warmup: 1, reps: quick ? 1 : 3 },
};
const log = (msg: string) => console.log(`[bench-compact] ${msg} (load ${loadAverage()})`);

/** Wraps put() to add up the time LangGraph waits on it (serialize, encode, statement). */
function timePuts(saver: BaseCheckpointSaver) {
  const totals = { puts: 0, ms: 0 };
  const put = saver.put.bind(saver);
  saver.put = async (...args: Parameters<typeof put>) => {
    const started = performance.now();
    try {
      return await put(...args);
    } finally {
      totals.puts += 1;
      totals.ms += performance.now() - started;
    }
  };
  return totals;
}

/** The head checkpoint's stored values deserialized in process: what any read must at least pay. */
async function floorOf(s: BenchSaver, threadId: string) {
  const { rows } = await s.pool!.query<{ type: string; blob: Buffer | null }>(
    `SELECT b.type, b.blob FROM "${s.schema}".checkpoints c
     CROSS JOIN LATERAL jsonb_each_text(c.checkpoint -> 'channel_versions') v
     JOIN "${s.schema}".checkpoint_blobs b ON b.thread_id = c.thread_id AND b.checkpoint_ns = ''
       AND b.channel = v.key AND b.version = v.value
     WHERE c.thread_id = $1 AND c.checkpoint_ns = ''
       AND c.checkpoint_id = (SELECT max(checkpoint_id) FROM "${s.schema}".checkpoints WHERE thread_id = $1)`,
    [threadId],
  );
  const serde = new JsonPlusSerializer();
  const blobs = rows.filter((r) => r.type !== "empty" && r.blob !== null);
  return () => Promise.all(blobs.map((r) => serde.loadsTyped(r.type, r.blob as Buffer)));
}

interface Storage {
  blobs: number;
  total: number;
  onDisk: number;
}

async function storage(s: BenchSaver, threadId: string): Promise<Storage> {
  const b = await storageBytes(s.pool!, s.schema!, threadId);
  return { blobs: b.payload.blobs, total: b.payload.total, onDisk: b.stored };
}

const get = (saver: BaseCheckpointSaver, thread: string) => () => saver.getTuple(latest(thread));

async function plainThread(compact: BenchSaver, full: BenchSaver, official: BenchSaver) {
  log(
    `building ${CFG.buildReps} × ${CFG.steps}-step plain-reducer threads on compact and default (interleaved), 1 on official`,
  );
  const builds: Record<string, Array<{ ms: number; putMs: number; puts: number }>> = {
    compact: [],
    default: [],
  };
  let messages: Parameters<typeof logicalBytes>[0] = [];
  for (let rep = 0; rep < CFG.buildReps; rep += 1) {
    const order = rep % 2 === 0 ? ([compact, full] as const) : ([full, compact] as const);
    for (const s of order) {
      const puts = timePuts(s.saver);
      const built = await buildThread(s.saver, `plain-${rep}`, CFG.steps, "plain");
      messages = built.messages;
      builds[s === compact ? "compact" : "default"]!.push({
        ms: built.buildMs,
        putMs: puts.ms,
        puts: puts.puts,
      });
    }
  }
  const officialBuild = await buildThread(official.saver, "plain-0", CFG.steps, "plain");
  for (const s of [compact, full, official]) await analyze(s);
  const logical = logicalBytes(messages);
  log("getTuple of the head: end to end, saver only, and the deserialization floor");
  const floor = await floorOf(full, "plain-0");
  const rawCompact = withSerde(compact, undecodedSerde());
  const rawDefault = withSerde(full, undecodedSerde());
  const [gC, gD, gO, gF, rC, rD] = await interleavedSpreads(
    [
      get(compact.saver, "plain-0"),
      get(full.saver, "plain-0"),
      get(official.saver, "plain-0"),
      floor,
      get(rawCompact, "plain-0"),
      get(rawDefault, "plain-0"),
    ],
    CFG.getTuple,
  );
  log("list(limit 100)");
  const listed = (saver: BaseCheckpointSaver) => () => listCount(saver, "plain-0", 100);
  const [lC, lD, lrC, lrD] = await interleavedSpreads(
    [listed(compact.saver), listed(full.saver), listed(rawCompact), listed(rawDefault)],
    CFG.list,
  );
  return {
    logical,
    builds,
    officialBuildMs: officialBuild.buildMs,
    storage: {
      compact: await storage(compact, "plain-0"),
      default: await storage(full, "plain-0"),
      official: await storage(official, "plain-0"),
    },
    getTuple: {
      compact: gC!,
      default: gD!,
      official: gO!,
      floor: gF!,
      rawCompact: rC!,
      rawDefault: rD!,
    },
    list: { compact: lC!, default: lD!, rawCompact: lrC!, rawDefault: lrD! },
  };
}

async function agentThread(compact: BenchSaver, full: BenchSaver, official: BenchSaver) {
  log(`running a ${CFG.turns}-turn tool agent with files on each saver`);
  const built: Record<string, { ms: number; putMs: number; puts: number }> = {};
  let logical = 0;
  for (const [name, s] of [
    ["compact", compact],
    ["default", full],
    ["official", official],
  ] as const) {
    const puts = timePuts(s.saver);
    let state: Awaited<ReturnType<typeof runTurns>> | undefined;
    const ms = await timeMs(async () => {
      state = await runTurns(agentGraph(s.saver), "agent", CFG.turns);
    });
    built[name] = { ms, putMs: puts.ms, puts: puts.puts };
    logical = Buffer.byteLength(JSON.stringify({ messages: state!.messages, files: state!.files }));
    await analyze(s);
  }
  const floor = await floorOf(full, "agent");
  const [gC, gD, gF] = await interleavedSpreads(
    [get(compact.saver, "agent"), get(full.saver, "agent"), floor],
    CFG.getTuple,
  );
  return {
    logical,
    built,
    storage: {
      compact: await storage(compact, "agent"),
      default: await storage(full, "agent"),
      official: await storage(official, "agent"),
    },
    getTuple: { compact: gC!, default: gD!, floor: gF! },
  };
}

const ms = (s: Spread) => `${fmt(s.median)} ms (${fmt(s.min)}–${fmt(s.max)})`;
const x = (n: number) => `${fmt(n)}×`;

function report(
  p: Awaited<ReturnType<typeof plainThread>>,
  a: Awaited<ReturnType<typeof agentThread>>,
) {
  const S = CFG.steps;
  const ratio = (b: Storage, logical: number) =>
    `blobs ${x(b.blobs / logical)} · all rows ${x(b.total / logical)} · on disk ${x(b.onDisk / logical)} (${fmtBytes(b.total)})`;
  const stepsPerSec = (bs: Array<{ ms: number }>) => bs.map((b) => (S * 1000) / b.ms);
  const sC = stepsPerSec(p.builds.compact!);
  const sD = stepsPerSec(p.builds.default!);
  const putMs = (bs: Array<{ putMs: number; puts: number }>) =>
    median(bs.map((b) => b.putMs / b.puts));
  const g = p.getTuple;
  const rows = [
    [
      `stored ÷ logical, ${S}-step plain thread`,
      ratio(p.storage.compact, p.logical),
      ratio(p.storage.default, p.logical),
      ratio(p.storage.official, p.logical),
      `logical ${fmtBytes(p.logical)}`,
      "blobs ≤ 2×",
      passFail(p.storage.compact.blobs / p.logical <= 2),
    ],
    [
      `put throughput, ${S}-step build (steps/s, median of ${CFG.buildReps})`,
      `${fmt(median(sC))} (${sC.map((v) => fmt(v)).join(", ")})`,
      `${fmt(median(sD))} (${sD.map((v) => fmt(v)).join(", ")})`,
      fmt((S * 1000) / p.officialBuildMs),
      `compact ÷ default ${x(median(sC) / median(sD))}`,
      "≥ 1×",
      passFail(median(sC) >= median(sD)),
    ],
    [
      "mean put() latency during the build",
      `${fmt(putMs(p.builds.compact!))} ms`,
      `${fmt(putMs(p.builds.default!))} ms`,
      "",
      `compact ÷ default ${x(putMs(p.builds.compact!) / putMs(p.builds.default!))}`,
      "info",
      "",
    ],
    [
      "getTuple head, end to end",
      ms(g.compact),
      ms(g.default),
      ms(g.official),
      `floor ${ms(g.floor)}; compact ÷ floor ${x(g.compact.median / g.floor.median)}`,
      "≤ 1.3× floor",
      passFail(g.compact.median <= 1.3 * g.floor.median),
    ],
    [
      "getTuple head, saver only (undecoded)",
      ms(g.rawCompact),
      ms(g.rawDefault),
      "",
      `compact ÷ default ${x(g.rawCompact.median / g.rawDefault.median)}`,
      "info",
      "",
    ],
    [
      "list(limit 100), end to end",
      ms(p.list.compact),
      ms(p.list.default),
      "",
      `compact ÷ default ${x(p.list.compact.median / p.list.default.median)}`,
      "info",
      "",
    ],
    [
      "list(limit 100), saver only",
      ms(p.list.rawCompact),
      ms(p.list.rawDefault),
      "",
      `compact ÷ default ${x(p.list.rawCompact.median / p.list.rawDefault.median)}`,
      "info",
      "",
    ],
    [
      `stored ÷ logical, ${CFG.turns}-turn agent with files`,
      ratio(a.storage.compact, a.logical),
      ratio(a.storage.default, a.logical),
      ratio(a.storage.official, a.logical),
      `logical ${fmtBytes(a.logical)}`,
      "blobs ≤ 2×",
      passFail(a.storage.compact.blobs / a.logical <= 2),
    ],
    [
      `${CFG.turns}-turn agent run time (1 run)`,
      `${fmt(a.built.compact!.ms / 1000)} s`,
      `${fmt(a.built.default!.ms / 1000)} s`,
      `${fmt(a.built.official!.ms / 1000)} s`,
      `compact ÷ default ${x(a.built.compact!.ms / a.built.default!.ms)}`,
      "info",
      "",
    ],
    [
      "agent getTuple head, end to end",
      ms(a.getTuple.compact),
      ms(a.getTuple.default),
      "",
      `floor ${ms(a.getTuple.floor)}; compact ÷ floor ${x(a.getTuple.compact.median / a.getTuple.floor.median)}`,
      "≤ 1.3× floor",
      passFail(a.getTuple.compact.median <= 1.3 * a.getTuple.floor.median),
    ],
  ];
  return formatTable(
    ["metric", "compact", "default (ours)", "official", "ratio", "target", "result"],
    rows,
  );
}

export async function main(): Promise<void> {
  databaseUrl();
  const startLoad = loadAverage();
  const savers: BenchSaver[] = [];
  try {
    const compact = await createSaver("ours", 4, { storage: "compact" });
    savers.push(compact);
    const full = await createSaver("ours", 4);
    savers.push(full);
    const official = await createSaver("official", 4);
    savers.push(official);
    const plain = await plainThread(compact, full, official);
    const agent = await agentThread(compact, full, official);
    console.log(`\n## Compact storage bench (${new Date().toISOString()})\n`);
    console.log(
      `Load average (1/5/15 min): ${startLoad} at start, ${loadAverage()} at end${quick ? " · QUICK run" : ""}\n`,
    );
    console.log(report(plain, agent));
    console.log(
      "\nblobs = octet_length of checkpoint_blobs.blob (the channel values); all rows = + checkpoint and metadata JSON + pending writes; on disk = pg_column_size of the rows after TOAST compression. floor = JsonPlusSerializer.loadsTyped of the head checkpoint's stored values, in process. Times: median (min–max).",
    );
    const out = resolve(ROOT, ".bench");
    mkdirSync(out, { recursive: true });
    writeFileSync(
      resolve(out, "compact.json"),
      `${JSON.stringify({ at: new Date().toISOString(), loadavg: loadavg(), config: CFG, plain, agent }, null, 2)}\n`,
    );
  } finally {
    for (const s of savers) await s.dispose().catch((e) => log(`cleanup of ${s.kind}: ${e}`));
  }
}

runIfEntryPoint(import.meta.url, main);

/**
 * getDeltaChannelHistory on 1,000-checkpoint DeltaChannel threads: the statement on the server
 * (planning + execution), the statement as the saver runs it (round trip and result included),
 * the whole call with an undecoded serde (saver only) and with the default serde (end to end),
 * against the deserialization floor (the same writes and seed decoded in process). Ours vs the
 * official saver (which walks ancestors with one getTuple each) on the same Postgres.
 *
 *   node --conditions=agentstate-source --import tsx scripts/bench-history.ts
 *
 * Env: DATABASE_URL (loopback only), BENCH_QUICK=1 (fewer repetitions), BENCH_MAX_LOAD (wait up
 * to 90 s for the 1-minute load average to drop under it before measuring).
 */

import { type PostgresCheckpointer, tablesFor } from "@agentstate/checkpointer";
import type { BaseMessage } from "@langchain/core/messages";
import { AIMessage } from "@langchain/core/messages";
import {
  Annotation,
  type BaseCheckpointSaver,
  DeltaChannel,
  END,
  messagesDeltaReducer,
  START,
  StateGraph,
} from "@langchain/langgraph";
import { JsonPlusSerializer } from "@langchain/langgraph-checkpoint";
import { latest } from "./lib/long-thread.js";
import { runIfEntryPoint } from "./lib/main.js";
import { databaseUrl } from "./lib/pg.js";
import { analyze, undecodedSerde, withSerde } from "./lib/reads.js";
import { type BenchSaver, createSaver } from "./lib/savers.js";
import {
  interleavedSpreads,
  loadAverage,
  median,
  type Spread,
  waitForQuietMachine,
} from "./lib/stats.js";
import { fmt, formatTable, passFail } from "./lib/table.js";

const quick = process.env.BENCH_QUICK === "1";
const STEPS = 1000;
const REPS = { warmup: 3, reps: quick ? 5 : 21 };
const log = (msg: string) => console.log(`[bench-history] ${msg} (load ${loadAverage()})`);

/** One message per step in a DeltaChannel; `snapshotFrequency` above STEPS: no snapshot at all. */
function deltaGraph(checkpointer: BaseCheckpointSaver, snapshotFrequency: number) {
  const State = Annotation.Root({
    messages: () =>
      new DeltaChannel<BaseMessage[], BaseMessage[]>(messagesDeltaReducer as never, {
        snapshotFrequency,
      }),
    n: Annotation<number>({ reducer: (_a, b) => b, default: () => 0 }),
  });
  return new StateGraph(State)
    .addNode("step", (s: { n: number }) => ({
      messages: [new AIMessage({ id: `m-${s.n}`, content: `Step ${s.n}: a finding to keep.` })],
      n: s.n + 1,
    }))
    .addEdge(START, "step")
    .addConditionalEdges("step", (s: { n: number }) => (s.n < STEPS ? "step" : END), ["step", END])
    .compile({ checkpointer });
}

async function build(s: BenchSaver, thread: string, snapshotFrequency: number) {
  await deltaGraph(s.saver, snapshotFrequency).invoke(
    { n: 0 },
    { configurable: { thread_id: thread }, recursionLimit: STEPS + 10 },
  );
}

const history = (saver: BaseCheckpointSaver, thread: string) => () =>
  saver.getDeltaChannelHistory({ config: latest(thread), channels: ["messages"] });

/** The writes and seed history returns, decoded in process from bytes fetched beforehand. */
async function floorOf(saver: BaseCheckpointSaver, thread: string) {
  const raw = await history(saver, thread)();
  const entry = raw.messages;
  const blobs = [
    ...(entry?.writes ?? []).map((w) => w[2] as Uint8Array),
    ...(entry?.seed ? [entry.seed as Uint8Array] : []),
  ];
  const serde = new JsonPlusSerializer();
  return () => Promise.all(blobs.map((b) => serde.loadsTyped("json", b)));
}

/** The statement alone: median of its own durations, from onOperation. */
async function statementOnly(saver: PostgresCheckpointer, thread: string): Promise<Spread> {
  const samples: number[] = [];
  const stop = saver.onOperation((e) => {
    if (e.operation === "getDeltaChannelHistory") samples.push(e.durationMs);
  });
  for (let i = 0; i < REPS.warmup + REPS.reps; i += 1) await history(saver, thread)();
  stop();
  const s = samples.slice(REPS.warmup).sort((a, b) => a - b);
  return { min: s[0]!, median: s[s.length >> 1]!, max: s[s.length - 1]! };
}

/** Planning + execution on the server: EXPLAIN ANALYZE without per-node timing, same parameters. */
async function serverOnly(s: BenchSaver, thread: string): Promise<Spread> {
  const { deltaHistorySql } = await import("../packages/checkpointer/src/sql/history.js");
  const sql = `EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON, FORMAT JSON) ${deltaHistorySql(tablesFor(s.schema ?? ""))}`;
  const samples: number[] = [];
  for (let i = 0; i < REPS.warmup + REPS.reps; i += 1) {
    const { rows } = await (s.pool as NonNullable<BenchSaver["pool"]>).query(sql, [
      thread,
      "",
      null,
      ["messages"],
    ]);
    const [plan] = rows[0]["QUERY PLAN"] as Array<Record<string, number>>;
    if (i >= REPS.warmup)
      samples.push((plan?.["Planning Time"] ?? 0) + (plan?.["Execution Time"] ?? 0));
  }
  return { min: Math.min(...samples), median: median(samples), max: Math.max(...samples) };
}

export async function main(): Promise<void> {
  databaseUrl();
  const startLoad = loadAverage();
  const savers: BenchSaver[] = [];
  try {
    const ours = await createSaver("ours", 4);
    savers.push(ours);
    const official = await createSaver("official", 4);
    savers.push(official);
    log(`building ${STEPS}-step DeltaChannel threads (no snapshot, and one every 100 updates)`);
    for (const s of [ours, official]) {
      await build(s, "walk-all", STEPS + 1);
      await build(s, "snap-100", 100);
      await analyze(s);
    }
    const maxLoad = Number(process.env.BENCH_MAX_LOAD);
    if (maxLoad > 0) {
      log(`waiting (≤ 90 s) for the 1-minute load average to drop under ${maxLoad}`);
      await waitForQuietMachine(maxLoad, 90_000);
    }
    const oursSaver = ours.saver as PostgresCheckpointer;
    const rawOurs = withSerde(ours, undecodedSerde()) as PostgresCheckpointer;
    const rows: string[][] = [];
    for (const thread of ["walk-all", "snap-100"]) {
      log(`${thread}: server, statement, saver only, end to end, floor, official`);
      const server = await serverOnly(ours, thread);
      const statement = await statementOnly(rawOurs, thread);
      const floor = await floorOf(rawOurs, thread);
      const [saverOnly, endToEnd, floorT, off] = await interleavedSpreads(
        [
          history(rawOurs, thread),
          history(oursSaver, thread),
          floor,
          history(official.saver, thread),
        ],
        REPS,
      );
      const walked = (await history(rawOurs, thread)()).messages?.writes.length ?? 0;
      const ms = (s: Spread) => `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`;
      rows.push([
        `${thread} (${walked} writes)`,
        ms(server),
        ms(statement),
        ms(saverOnly!),
        ms(endToEnd!),
        ms(floorT!),
        `${fmt(endToEnd!.median / floorT!.median)}×`,
        ms(off!),
        thread === "walk-all" ? `${passFail(statement.median <= 3)} (≤ 3 ms)` : "",
      ]);
    }
    console.log(`\n## getDeltaChannelHistory bench (${new Date().toISOString()})\n`);
    console.log(
      `Load average: ${startLoad} at start, ${loadAverage()} at end${quick ? " · QUICK" : ""}\n`,
    );
    console.log(
      formatTable(
        [
          "thread",
          "server ms",
          "statement ms",
          "saver only ms",
          "end to end ms",
          "floor ms",
          "e2e ÷ floor",
          "official ms",
          "target",
        ],
        rows,
      ),
    );
    console.log(
      "\nms: median (min–max). server = planning + execution (EXPLAIN ANALYZE, no per-node timing); statement = the saver's round trip, result received and parsed. floor = JsonPlusSerializer.loadsTyped of the same writes and seed, in process.",
    );
  } finally {
    for (const s of savers) await s.dispose().catch((e) => log(`cleanup of ${s.kind}: ${e}`));
  }
}

runIfEntryPoint(import.meta.url, main);

/**
 * getDeltaChannelHistory on 1,000-checkpoint DeltaChannel threads: the statement on the server
 * (planning + execution), the statement as the saver runs it (round trip and result included),
 * the whole call with an undecoded serde (saver only) and with the default serde (end to end),
 * against the deserialization floor (the same writes and seed decoded in process). Ours vs the
 * official saver (which walks ancestors with one getTuple each) on the same Postgres. The target
 * (issue #12: "SQL ≤ 3 ms for 1,000 checkpoints") is checked on the server time of the
 * 1,000-ancestor walk; the round trip adds receiving the rows (bytea as hex text).
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

/** The cases: a thread and the channels asked for (LangGraph asks for all its DeltaChannels at once). */
const CASES = [
  { thread: "walk-all", channels: ["messages"] },
  { thread: "snap-100", channels: ["messages"] },
  { thread: "walk-all", channels: ["messages", "n"] },
] as const;
type Case = (typeof CASES)[number];

const history = (saver: BaseCheckpointSaver, c: Case) => () =>
  saver.getDeltaChannelHistory({ config: latest(c.thread), channels: [...c.channels] });

/** The writes and seed history returns, decoded in process from bytes fetched beforehand. */
async function floorOf(saver: BaseCheckpointSaver, c: Case) {
  const raw = await history(saver, c)();
  const blobs = Object.values(raw).flatMap((entry) => [
    ...entry.writes.map((w) => w[2] as Uint8Array),
    ...(entry.seed ? [entry.seed as Uint8Array] : []),
  ]);
  const serde = new JsonPlusSerializer();
  return () => Promise.all(blobs.map((b) => serde.loadsTyped("json", b)));
}

/** The statement alone: median of its own durations, from onOperation. */
async function statementOnly(saver: PostgresCheckpointer, c: Case): Promise<Spread> {
  const samples: number[] = [];
  const stop = saver.onOperation((e) => {
    if (e.operation === "getDeltaChannelHistory") samples.push(e.durationMs);
  });
  for (let i = 0; i < REPS.warmup + REPS.reps; i += 1) await history(saver, c)();
  stop();
  const s = samples.slice(REPS.warmup).sort((a, b) => a - b);
  return { min: s[0]!, median: s[s.length >> 1]!, max: s[s.length - 1]! };
}

/** Planning + execution on the server: EXPLAIN ANALYZE without per-node timing, same parameters. */
async function serverOnly(s: BenchSaver, c: Case): Promise<Spread> {
  const { deltaHistorySql } = await import("../packages/checkpointer/src/sql/history.js");
  const statement = deltaHistorySql(tablesFor(s.schema ?? ""), c.channels.length);
  const sql = `EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON, FORMAT JSON) ${statement}`;
  const samples: number[] = [];
  for (let i = 0; i < REPS.warmup + REPS.reps; i += 1) {
    const { rows } = await (s.pool as NonNullable<BenchSaver["pool"]>).query(sql, [
      c.thread,
      "",
      null,
      [...c.channels],
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
    for (const c of CASES) {
      const name = `${c.thread} [${c.channels.join(", ")}]`;
      log(`${name}: server, statement, saver only, end to end, floor, official`);
      const server = await serverOnly(ours, c);
      const statement = await statementOnly(rawOurs, c);
      const floor = await floorOf(rawOurs, c);
      const [saverOnly, endToEnd, floorT, off] = await interleavedSpreads(
        [history(rawOurs, c), history(oursSaver, c), floor, history(official.saver, c)],
        REPS,
      );
      const got = Object.values(await history(rawOurs, c)());
      const walked = got.reduce((n, entry) => n + entry.writes.length, 0);
      const ms = (s: Spread) => `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`;
      const target = c === CASES[0];
      rows.push([
        `${name} (${walked} writes)`,
        ms(server),
        ms(statement),
        ms(saverOnly!),
        ms(endToEnd!),
        ms(floorT!),
        `${fmt(endToEnd!.median / floorT!.median)}×`,
        ms(off!),
        target ? `${passFail(server.median <= 3)} (server ≤ 3 ms)` : "",
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

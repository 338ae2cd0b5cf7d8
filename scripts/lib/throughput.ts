import { performance } from "node:perf_hooks";
import { runTurn, toolLoopGraph } from "./graph.js";
import type { BenchSaver, SaverKind } from "./savers.js";
import { median } from "./stats.js";

export interface ThroughputOptions {
  threads: number;
  concurrency: number;
  /** Tool-call rounds per thread; steps = 2 × rounds. */
  rounds: number;
  warmup: number;
  reps: number;
  /** Part of every thread id, so repeated calls on one saver never continue old threads. */
  runId?: string;
}

export interface ThroughputResult {
  /** Median steps per second per saver. */
  stepsPerSec: Partial<Record<SaverKind, number>>;
  /** Every repetition's steps/s, for the spread. */
  samples: Partial<Record<SaverKind, number[]>>;
  /** Postgres statements sent per step (BEGIN/COMMIT included), median over repetitions. */
  statementsPerStep: Partial<Record<SaverKind, number>>;
  /**
   * Group commit of the savers that have it (ours): statements sent during the measured
   * repetitions, by how many writes each carried.
   */
  batchSizes: Partial<Record<SaverKind, Map<number, number>>>;
}

type WithBatches = { batchSizes?: ReadonlyMap<number, number> };

/** Statements by writes carried, between two snapshots of a saver's histogram. */
function histogramSince(
  now: ReadonlyMap<number, number>,
  before: ReadonlyMap<number, number>,
): Map<number, number> {
  const out = new Map<number, number>();
  for (const [size, n] of now) {
    const d = n - (before.get(size) ?? 0);
    if (d > 0) out.set(size, d);
  }
  return new Map([...out].sort((a, b) => a[0] - b[0]));
}

function push(into: Partial<Record<SaverKind, number[]>>, kind: SaverKind, value: number): void {
  const list = into[kind] ?? [];
  list.push(value);
  into[kind] = list;
}

/** Runs `jobs` with at most `concurrency` in flight. */
async function pooled(jobs: Array<() => Promise<unknown>>, concurrency: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      await job();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));
}

/**
 * `threads` fresh threads of the tool-loop graph, `concurrency` at a time, per saver. Savers
 * take turns within each repetition (order rotated), so load drift hits all of them alike.
 */
export async function benchThroughput(
  savers: readonly BenchSaver[],
  options: ThroughputOptions,
): Promise<ThroughputResult> {
  const { threads, concurrency, rounds, warmup, reps } = options;
  const graphs = savers.map((s) => toolLoopGraph({ rounds, mode: "plain", checkpointer: s.saver }));
  const samples: Partial<Record<SaverKind, number[]>> = {};
  const statements: Partial<Record<SaverKind, number[]>> = {};
  const expected = 1 + 2 * rounds;
  const batchesBefore = new Map<SaverKind, ReadonlyMap<number, number>>();

  for (let rep = -warmup; rep < reps; rep += 1) {
    for (let j = 0; j < savers.length; j += 1) {
      const k = (Math.max(rep, 0) + j) % savers.length;
      const s = savers[k]!;
      const graph = graphs[k]!;
      const prefix = `tp${options.runId ?? ""}-${rep < 0 ? `w${-rep}` : rep}-${s.kind}`;
      let wrongLength = 0;
      const jobs = Array.from({ length: threads }, (_, i) => async () => {
        const out = await runTurn(graph, `${prefix}-${i}`, rounds);
        if (out.messages.length !== expected) wrongLength += 1;
      });
      const before = s.statements?.count ?? 0;
      const histogram = (s.saver as WithBatches).batchSizes;
      if (rep === 0 && histogram && !batchesBefore.has(s.kind)) {
        batchesBefore.set(s.kind, new Map(histogram));
      }
      const start = performance.now();
      await pooled(jobs, concurrency);
      const seconds = (performance.now() - start) / 1000;
      if (wrongLength > 0) {
        throw new Error(`${s.kind}: ${wrongLength} threads ended with a wrong message count`);
      }
      if (rep < 0) continue;
      const steps = threads * 2 * rounds;
      push(samples, s.kind, steps / seconds);
      if (s.statements) push(statements, s.kind, (s.statements.count - before) / steps);
    }
  }
  const med = (r: Partial<Record<SaverKind, number[]>>) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, median(v)]));
  const batchSizes: ThroughputResult["batchSizes"] = {};
  for (const s of savers) {
    const now = (s.saver as WithBatches).batchSizes;
    const before = batchesBefore.get(s.kind);
    if (now && before) batchSizes[s.kind] = histogramSince(now, before);
  }
  return { stepsPerSec: med(samples), samples, statementsPerStep: med(statements), batchSizes };
}

import { loadavg } from "node:os";
import { performance } from "node:perf_hooks";

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** The `q` quantile (0–1) of `values`, interpolated between the two nearest samples. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

/** Milliseconds `fn` takes. */
export async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/**
 * Median milliseconds of several calls of each function, run interleaved (a, b, a, b, …) so a
 * change in machine load hits every candidate alike; `warmup` untimed rounds first.
 */
export async function interleavedMedians(
  fns: ReadonlyArray<() => Promise<unknown>>,
  options: { warmup: number; reps: number },
): Promise<number[]> {
  return (await interleavedSpreads(fns, options)).map((s) => s.median);
}

export interface Spread {
  min: number;
  median: number;
  max: number;
}

/** Like interleavedMedians, with the min and max of each candidate's samples too. */
export async function interleavedSpreads(
  fns: ReadonlyArray<() => Promise<unknown>>,
  { warmup, reps }: { warmup: number; reps: number },
): Promise<Spread[]> {
  for (let i = 0; i < warmup; i += 1) for (const fn of fns) await fn();
  const samples: number[][] = fns.map(() => []);
  for (let i = 0; i < reps; i += 1) {
    for (let j = 0; j < fns.length; j += 1) {
      // Rotate the order each round so no candidate always runs right after the same one.
      const k = (i + j) % fns.length;
      samples[k]!.push(await timeMs(fns[k]!));
    }
  }
  return samples.map((s) => ({ min: Math.min(...s), median: median(s), max: Math.max(...s) }));
}

export function loadAverage(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(" / ");
}

/**
 * Waits (up to `maxWaitMs`) for the 1-minute load average to drop under `threshold`, so the
 * final numbers are not taken while other work saturates the machine. Returns the load seen.
 */
export async function waitForQuietMachine(threshold: number, maxWaitMs: number): Promise<number> {
  const deadline = Date.now() + maxWaitMs;
  let load = loadavg()[0]!;
  while (load >= threshold && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 2000));
    load = loadavg()[0]!;
  }
  return load;
}

/** One benchmarked operation: the backend call and the raw call it is built on. */
export interface Pair {
  op: string;
  raw: () => Promise<unknown>;
  ours: () => Promise<unknown>;
}

export interface Timing {
  op: string;
  rawMedianMs: number;
  oursMedianMs: number;
  ratio: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * Runs raw and backend calls interleaved, alternating which goes first, so drift in the machine
 * (page cache, CPU frequency, GC) hits both sides alike; medians resist outliers.
 */
export async function measure(
  pair: Pair,
  iterations: number,
  warmup = Math.ceil(iterations / 10),
): Promise<Timing> {
  for (let i = 0; i < warmup; i++) {
    await pair.raw();
    await pair.ours();
  }
  const raw: number[] = [];
  const ours: number[] = [];
  const time = async (fn: () => Promise<unknown>, into: number[]) => {
    const started = performance.now();
    await fn();
    into.push(performance.now() - started);
  };
  for (let i = 0; i < iterations; i++) {
    if (i % 2 === 0) {
      await time(pair.raw, raw);
      await time(pair.ours, ours);
    } else {
      await time(pair.ours, ours);
      await time(pair.raw, raw);
    }
  }
  const rawMedianMs = median(raw);
  const oursMedianMs = median(ours);
  return { op: pair.op, rawMedianMs, oursMedianMs, ratio: oursMedianMs / rawMedianMs };
}

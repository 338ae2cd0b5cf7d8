// Small helpers with no better home: durations as the CLI and options accept them, and a
// bounded-concurrency loop.
import { RecoveryError } from "./errors.js";

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** "90", "90s", "10m", "2h", "1d" → seconds. */
export function parseDuration(value: number | string | undefined): number {
  if (value === undefined) return 0;
  if (typeof value === "number") return value;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$/i.exec(value);
  if (!m) {
    throw new RecoveryError(
      "INVALID_ARGUMENT",
      `Invalid duration "${value}": use seconds or 30s, 10m, 2h, 1d.`,
    );
  }
  return Number(m[1]) * (UNITS[(m[2] || "s").toLowerCase()] ?? 1);
}

/** Runs `fn` over `items`, at most `limit` at a time, in order of start. */
export async function pool<T>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

// The retry backoff, one formula from one set of options, in the two forms its callers need:
// backoffMs computes it in JS (the retry of a run that failed), backoffSql writes it into the
// claim statements, which take the attempt number from the row they update in that statement.
// test/ledger.test.ts checks that the two agree.
//   delay(attempt) = min(backoffMaxMs, backoffInitialMs × backoffFactor^max(attempt − 1, 0)) × (1 ± jitter)
import type { ResolvedRecoveryOptions } from "../options.js";

export type BackoffOptions = Pick<
  ResolvedRecoveryOptions,
  "backoffInitialMs" | "backoffFactor" | "backoffMaxMs" | "jitter"
>;

/** Delay before attempt `attempt` (1-based), in ms: exponential, capped, with jitter. */
export function backoffMs(o: BackoffOptions, attempt: number): number {
  const base = Math.min(
    o.backoffMaxMs,
    o.backoffInitialMs * o.backoffFactor ** Math.max(0, attempt - 1),
  );
  return Math.max(0, Math.round(base * (1 + o.jitter * (Math.random() * 2 - 1))));
}

/** The statement parameters backoffSql reads, in its order. */
export function backoffParams(o: BackoffOptions): number[] {
  return [o.backoffInitialMs, o.backoffFactor, o.backoffMaxMs, o.jitter];
}

/**
 * SQL: backoffMs's delay in seconds before attempt `attemptsExpr` (an SQL expression), with
 * backoffParams() bound from parameter `$first` on.
 */
export function backoffSql(attemptsExpr: string, first: number): string {
  const [initial, factor, max, jitter] = [0, 1, 2, 3].map((i) => `$${first + i}::float8`);
  return `least(${max}, ${initial} * power(${factor}, greatest(${attemptsExpr} - 1, 0)))
    * (1 + ${jitter} * (random() * 2 - 1)) / 1000.0`;
}

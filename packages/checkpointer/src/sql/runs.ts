// The run ledger's vocabulary (agentstate_runs), defined once for the checkpointer, its metrics
// and @agentstate/recovery: the statuses a row may have — exactly what the table's CHECK
// constraint allows (packages/recovery/test/ledger.test.ts compares the two) — the status groups
// the partial indexes cover, and the SQL predicates of a lease.

/** Every status of a ledger row, in the order the migrations list them. */
export const RUN_STATUSES = [
  "running",
  "completed",
  "waiting",
  "failed",
  "crashed",
  "recovering",
  "dead",
  /** Stopped at a superstep boundary by a drain (a deploy): resumable at once, not a crash. */
  "drained",
] as const;

export type RunStatus = (typeof RUN_STATUSES)[number];

/** Statuses of a run that holds its thread for as long as its lease lasts. */
export const LEASED_STATUSES = ["running", "recovering"] as const satisfies readonly RunStatus[];

/** Statuses agentstate_runs_due_idx covers (v14): runs a sweep may have to take over. */
export const DUE_STATUSES = [
  "running",
  "recovering",
  "crashed",
  "failed",
] as const satisfies readonly RunStatus[];

/** Statuses of a run that ended and left its thread settled (agentstate_runs_settled_idx, v14). */
export const SETTLED_STATUSES = ["completed", "waiting"] as const satisfies readonly RunStatus[];

/** `('a', 'b')`: statuses as a parenthesised SQL list, for `status IN …`. */
export function statusList(statuses: readonly RunStatus[]): string {
  return `(${statuses.map((s) => `'${s}'`).join(", ")})`;
}

const column = (alias: string | undefined, name: string) => (alias ? `${alias}.${name}` : name);

/** SQL: the row (table alias `alias`, if any) is held by a run, live lease or not. */
export function leasedStatus(alias?: string): string {
  return `${column(alias, "status")} IN ${statusList(LEASED_STATUSES)}`;
}

/**
 * SQL: the row (table alias `alias`, if any) is held by a run whose lease has not expired on the
 * database clock — "someone is running this thread right now".
 */
export function liveLease(alias?: string): string {
  return `(${leasedStatus(alias)} AND ${column(alias, "lease_until")} > now())`;
}

// What `agentstate doctor` reads besides the schema status: the server and its clock, the indexes
// recovery's queries rely on, and the ledger's health. Read-only.
import { type DbSeam, leasedStatus, liveLease } from "@agentstate/checkpointer";

/** The server's version and how far this host's clock is from the database's, in ms. */
export async function serverClock(db: DbSeam): Promise<{ version: string; skewMs: number }> {
  const [row] = await db.run<{ version: string; skew: number }>(
    "serverClock()",
    "SELECT current_setting('server_version') AS version, extract(epoch FROM now())::float8 * 1000 - $1::float8 AS skew",
    [Date.now()],
  );
  return { version: String(row?.version), skewMs: Number(row?.skew ?? 0) };
}

/** Whether the sweep's due index and the thread-activity index exist. */
export async function recoveryIndexes(db: DbSeam): Promise<{ due: boolean; activity: boolean }> {
  const [row] = await db.run<{ due: boolean; activity: boolean }>(
    "recoveryIndexes()",
    "SELECT to_regclass($1) IS NOT NULL AS due, to_regclass($2) IS NOT NULL AS activity",
    [
      `${db.tables.schema}.agentstate_runs_due_idx`,
      `${db.tables.schema}.checkpoints_thread_activity_idx`,
    ],
  );
  return { due: Boolean(row?.due), activity: Boolean(row?.activity) };
}

/** Runs holding a live lease, runs whose lease expired, dead threads, threads needing review. */
export interface LedgerHealth {
  live: number;
  expired: number;
  dead: number;
  review: number;
}

export async function ledgerHealth(db: DbSeam): Promise<LedgerHealth> {
  const [row] = await db.run<LedgerHealth>(
    "ledgerHealth()",
    `SELECT count(*) FILTER (WHERE ${liveLease()})::int AS live,
       count(*) FILTER (WHERE ${leasedStatus()} AND lease_until <= now())::int AS expired,
       count(*) FILTER (WHERE status = 'dead')::int AS dead,
       count(*) FILTER (WHERE needs_review)::int AS review
     FROM ${db.tables.runs}`,
  );
  return {
    live: Number(row?.live ?? 0),
    expired: Number(row?.expired ?? 0),
    dead: Number(row?.dead ?? 0),
    review: Number(row?.review ?? 0),
  };
}

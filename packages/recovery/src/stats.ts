import {
  type CheckpointStats,
  getCheckpointStats,
  type PostgresCheckpointer,
} from "@agentstate/checkpointer";
import type { RunStatus } from "./ledger.js";

export interface RecoveryStats extends CheckpointStats {
  /** Ledger rows per status (threads that ran under runDurably or were recovered/classified). */
  ledger: Record<RunStatus, number>;
}

/** getCheckpointStats() plus the run ledger's counts per status. */
export async function getRecoveryStats(saver: PostgresCheckpointer): Promise<RecoveryStats> {
  const [stats, ledger] = await Promise.all([getCheckpointStats(saver), ledgerCounts(saver)]);
  return { ...stats, ledger };
}

/** Ledger rows per status, for stats. */
export async function ledgerCounts(
  saver: PostgresCheckpointer,
): Promise<Record<RunStatus, number>> {
  const rows = await saver.run<{ status: RunStatus; n: number }>(
    "ledgerCounts()",
    `SELECT status, count(*)::int AS n FROM ${saver.tables.runs} GROUP BY status`,
  );
  const counts = {
    running: 0,
    completed: 0,
    waiting: 0,
    failed: 0,
    crashed: 0,
    recovering: 0,
    dead: 0,
    drained: 0,
  } satisfies Record<RunStatus, number>;
  for (const r of rows) counts[r.status] = Number(r.n);
  return counts;
}

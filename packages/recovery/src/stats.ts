// `agentstate stats` as a library call: the checkpointer's totals plus the run ledger's counts.
import { type CheckpointStats, type DbSeam, getCheckpointStats } from "@agentstate/checkpointer";
import { ledgerCounts } from "./ledger/reads.js";
import type { RunStatus } from "./types.js";

export interface RecoveryStats extends CheckpointStats {
  /** Ledger rows per status (threads that ran under runDurably or were recovered/classified). */
  ledger: Record<RunStatus, number>;
}

/** getCheckpointStats() plus the run ledger's counts per status. */
export async function getRecoveryStats(db: DbSeam): Promise<RecoveryStats> {
  const [stats, ledger] = await Promise.all([getCheckpointStats(db), ledgerCounts(db)]);
  return { ...stats, ledger };
}

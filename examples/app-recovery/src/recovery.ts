// Recovery from inside the app: one sweep at startup, the same sweep on a timer, and recovery
// of one thread on request; every attempt is counted in the Prometheus metrics.
import type { CheckpointerMetrics } from "@agentstate/checkpointer";
import type { RecoverResult, RecoveryService } from "@agentstate/recovery";

/** What a startup (or timed) sweep did. */
export interface SweepReport {
  /** Stuck threads found (crashed, failed, dead); waiting and running ones are never listed. */
  found: number;
  results: RecoverResult[];
}

/** The `outcome` label of agentstate_recoveries_total; undefined when nothing was attempted. */
function outcomeLabel(r: RecoverResult): string | undefined {
  if (r.status === "resumed") {
    return r.outcome === "completed" || r.outcome === "waiting" ? "resumed" : "failed";
  }
  // not_stuck / waiting: nothing to do, not a recovery attempt.
  return r.status === "not_stuck" || r.status === "waiting" ? undefined : r.status;
}

/** Recovers one thread (exactly once across every process doing the same) and counts it. */
export async function recoverThread(
  service: RecoveryService,
  metrics: CheckpointerMetrics,
  threadId: string,
): Promise<RecoverResult> {
  const started = performance.now();
  const result = await service.recoverStuckSession(threadId);
  const label = outcomeLabel(result);
  if (label) {
    metrics.recordRecovery(
      label,
      result.status === "resumed" ? performance.now() - started : undefined,
    );
  }
  return result;
}

/**
 * findStuckThreads (index-backed candidates, classified through the graph) → recover each.
 * Threads waiting for a human are not stuck, so they are never in the list. One pass; what is
 * left (backoff, more than `limit`) is for the next timed sweep or the cron job.
 */
export async function sweepOnce(
  service: RecoveryService,
  metrics: CheckpointerMetrics,
  limit = 100,
): Promise<SweepReport> {
  const stuck = await service.findStuckThreads({ limit, includeDeferred: false });
  const results: RecoverResult[] = [];
  for (const s of stuck) results.push(await recoverThread(service, metrics, s.threadId));
  return { found: stuck.length, results };
}

// One retention pass: stats before, prune (keep the newest N checkpoints of every thread, drop
// threads idle longer than the TTL), stats after. What a nightly job or the worker runs.
import type { CheckpointStats, PostgresCheckpointer, PruneResult } from "@agentstate/checkpointer";
import { parseDuration } from "@agentstate/recovery";

export interface RetentionOptions {
  checkpointer: PostgresCheckpointer;
  /** Checkpoints kept per thread (and namespace); older ones go. Unset: no trimming. */
  keepLatest?: number;
  /** Threads whose last checkpoint is older than this go whole: "30d", seconds, or a Date. */
  olderThan?: string | number | Date;
  /** Count what would go; delete nothing. @default false */
  dryRun?: boolean;
  /** Where the report goes. @default console.log */
  log?: (line: string) => void;
}

export interface RetentionReport {
  before: CheckpointStats;
  result: PruneResult;
  after: CheckpointStats;
}

export async function runRetention(options: RetentionOptions): Promise<RetentionReport> {
  const { checkpointer, keepLatest, dryRun = false, log = console.log } = options;
  const olderThan =
    options.olderThan === undefined || options.olderThan instanceof Date
      ? options.olderThan
      : new Date(Date.now() - parseDuration(options.olderThan) * 1000);

  const before = await checkpointer.getCheckpointStats();
  const result = await checkpointer.prune({ keepLatest, olderThan, dryRun });
  const after = await checkpointer.getCheckpointStats();

  const policy = [
    keepLatest !== undefined ? `keep the latest ${keepLatest} per thread` : "",
    olderThan ? `drop threads idle since ${olderThan.toISOString()}` : "",
  ].filter(Boolean);
  log(`retention${dryRun ? " (dry run: nothing deleted)" : ""}: ${policy.join(", ")}`);
  log(formatStats(before, after));
  log(
    `${dryRun ? "would delete" : "deleted"}: ${result.threadsDeleted} of ${result.threadsScanned} ` +
      `threads, ${result.checkpointsDeleted} checkpoints, ${result.writesDeleted} writes, ` +
      `${result.blobsDeleted} blobs`,
  );
  return { before, result, after };
}

function formatStats(before: CheckpointStats, after: CheckpointStats): string {
  const day = (d: Date | null) => d?.toISOString().slice(0, 10) ?? "-";
  const kb = (n: number) => `${Math.round(n / 1024)} kB`;
  const rows: Array<[string, string, string]> = [
    ["", "before", "after"],
    ["threads", String(before.uniqueThreads), String(after.uniqueThreads)],
    ["checkpoints", String(before.totalCheckpoints), String(after.totalCheckpoints)],
    ["oldest", day(before.oldestCheckpointAt), day(after.oldestCheckpointAt)],
    // Postgres reuses freed pages; the files shrink only after VACUUM FULL.
    ["on disk", kb(before.bytes.total), kb(after.bytes.total)],
  ];
  return rows
    .map(([a, b, c]) => `  ${a.padEnd(12)} ${b.padStart(10)} ${c.padStart(10)}`)
    .join("\n");
}

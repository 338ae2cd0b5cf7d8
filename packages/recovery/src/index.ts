// The public API of @agentstate/recovery: every export is named here, nothing else is public.
export { getCheckpointStats, listArchives } from "@agentstate/checkpointer";
export {
  type ArchiveOptions,
  type ArchiveOutcome,
  type ArchiveProgress,
  type ArchiveResult,
  type ArchiveThreadResult,
  archive,
} from "./archive/archive.js";
export {
  ARCHIVE_FORMAT,
  ARCHIVE_FORMAT_VERSION,
  type ArchiveHeader,
  type ArchiveSection,
  decodeArchive,
} from "./archive/format.js";
export {
  type ArchiveStoreOptions,
  archiveKey,
  openArchiveStore,
  parseLocation,
} from "./archive/location.js";
export {
  type RestoreOptions,
  type RestoreOutcome,
  type RestoreResult,
  type RestoreThreadResult,
  restore,
  restoreThread,
} from "./archive/restore.js";
export { ARCHIVE_STATES, type ArchiveState } from "./archive/select.js";
export { defaultErrorKind, type ErrorKind } from "./classify.js";
export { checkStuckState } from "./detect.js";
export type { DrainOptions } from "./drain.js";
export {
  type DurableRunOptions,
  type DurableStream,
  type GraphState,
  runDurably,
  streamDurably,
} from "./durable.js";
export {
  errorCode,
  isDrained,
  isFenced,
  RecoveryError,
  type RecoveryErrorCode,
} from "./errors.js";
export type { PregelLike, RecoverableGraph } from "./graph.js";
export {
  type ErrorView,
  type InFlightStep,
  type InspectOptions,
  type InspectSource,
  type InterruptView,
  inspect,
  type LedgerStory,
  type ThreadInspection,
  type TimelineStep,
  type ToolCallView,
  type WriteView,
} from "./inspect.js";
export {
  type ChannelDiff,
  type CheckpointDiff,
  diffCheckpoints,
  type HistoryEntry,
  history,
  type ThreadHistory,
} from "./inspect-history.js";
export { type HeartbeatConfig, heartbeat } from "./lease.js";
export { queuedRunsSettled } from "./leased-run.js";
export { backoffMs } from "./ledger/backoff.js";
export { queuedCount } from "./ledger/queue.js";
export type { ReceiptKey } from "./ledger/receipts.js";
export { readRun } from "./ledger/records.js";
export { jsonLogger } from "./log.js";
export {
  createErrorRecoveryMiddleware,
  type ErrorRecoveryMiddlewareOptions,
  type RecoveryMiddleware,
  type WithRecoveryOptions,
  withRecovery,
} from "./middleware.js";
export {
  type EnqueuedRun,
  isEnqueued,
  type MultitaskOptions,
  type MultitaskStrategy,
} from "./multitask.js";
export {
  type InFlightToolPolicy,
  type RecoveryOptions,
  type ResolvedRecoveryOptions,
  resolveRecoveryOptions,
} from "./options.js";
export { outcomeUnknownMessage } from "./patch.js";
export {
  patchOrphanedToolCalls,
  type RecoverHooks,
  type RecoverOptions,
  recoverStuckSession,
} from "./recover.js";
export {
  type DryRunResult,
  type FindStuckOptions,
  findStuckThreads,
  RecoveryService,
  type RecoveryServiceOptions,
  type SweepError,
  type SweepOptions,
  type SweepProgress,
  type SweepResult,
} from "./service.js";
export { getRecoveryStats, type RecoveryStats } from "./stats.js";
export type { ToolCallInfo } from "./toolcalls.js";
export {
  type EffectContext,
  IDEMPOTENT_METADATA_KEY,
  markIdempotent,
  type RunOnceOptions,
  runOnce,
  runOnceInTransaction,
  withReceipt,
} from "./tools.js";
export type {
  ArchiveStore,
  DurableConfig,
  RecoverResult,
  RecoverStatus,
  RecoveryLogEvent,
  RecoveryLogger,
  RunRecord,
  RunStatus,
  StuckState,
  ThreadState,
} from "./types.js";
export { type Dashboard, type DashboardOptions, startDashboard } from "./ui/server.js";
export { parseDuration } from "./util.js";
export type {
  RecoveryWorker,
  WorkerEvent,
  WorkerOptions,
  WorkerStats,
  WorkerStopResult,
} from "./worker.js";

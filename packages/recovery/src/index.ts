export { getCheckpointStats } from "@agentstate/checkpointer";
export { defaultErrorKind, type ErrorKind } from "./classify.js";
export {
  checkStuckState,
  type StuckState,
  type ThreadState,
} from "./detect.js";
export {
  type DurableConfig,
  runDurably,
  streamDurably,
} from "./durable.js";
export { errorCode, isFenced, RecoveryError, type RecoveryErrorCode } from "./errors.js";
export type { PregelLike, RecoverableGraph } from "./graph.js";
export { type RunRecord, type RunStatus, readRun } from "./ledger.js";
export { jsonLogger, type RecoveryLogEvent, type RecoveryLogger } from "./log.js";
export {
  createErrorRecoveryMiddleware,
  type ErrorRecoveryMiddlewareOptions,
  type WithRecoveryOptions,
  withRecovery,
} from "./middleware.js";
export {
  backoffMs,
  type InFlightToolPolicy,
  type RecoveryOptions,
  type ResolvedRecoveryOptions,
  resolveRecoveryOptions,
} from "./options.js";
export { outcomeUnknownMessage } from "./patch.js";
export {
  patchOrphanedToolCalls,
  type RecoverOptions,
  type RecoverResult,
  type RecoverStatus,
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
  type ReceiptKey,
  type RunOnceOptions,
  runOnce,
  runOnceInTransaction,
  withReceipt,
} from "./tools.js";
export { parseDuration } from "./util.js";

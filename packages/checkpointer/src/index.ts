// The public API of @agentstate/checkpointer: explicit named exports only.
export {
  type Connection,
  type Database,
  PGliteDatabase,
  type PGliteLike,
  PgPoolDatabase,
  type Queryable,
  type QueryOptions,
  type QueryResult,
} from "./db.js";
export {
  CheckpointerError,
  type CheckpointerErrorCode,
  isConnectionError,
  isDatabaseError,
  SQLSTATE,
} from "./errors.js";
export {
  DEFAULT_DATA_DIR,
  describeTarget,
  type GetCheckpointerOptions,
  getCheckpointer,
  maskConnectionString,
  resolveDataDir,
} from "./factory.js";
export { KEY_LIMITS, MAX_JSON_DEPTH } from "./input.js";
export {
  type DataDirLock,
  type LockDataDirOptions,
  type LockRecord,
  lockDataDir,
} from "./lock.js";
export {
  type CheckpointerMetrics,
  createMetrics,
  type MetricsOptions,
  type MetricsRegistry,
  readGauges,
} from "./metrics.js";
export {
  type ArchiveRecord,
  type ArchiveStatus,
  archivedError,
  archivedThread,
  type ListArchivesOptions,
  listArchives,
  readArchiveRecords,
  recordArchived,
  recordRestored,
} from "./ops/archives.js";
export {
  type ConvertOptions,
  type ConvertResult,
  type ConvertThreadsOptions,
  type ConvertTotals,
  compactThread,
  convertThreads,
  expandThread,
  type ThreadConverter,
} from "./ops/compact.js";
export { type PruneOptions, type PruneResult, prune } from "./ops/prune.js";
export { getSchemaStatus, pendingMigrationSql, type SchemaStatus } from "./ops/schema.js";
export { type CheckpointStats, EXACT_COUNT_LIMIT, getCheckpointStats } from "./ops/stats.js";
export {
  deleteThreadRows,
  exportThreadRows,
  importThreadRows,
  lockThreadForArchive,
  type SectionDigest,
  sectionColumns,
  sectionTable,
  THREAD_SECTIONS,
  type ThreadRows,
  type ThreadSection,
  threadExists,
} from "./ops/thread-rows.js";
export {
  type ListThreadsOptions,
  listThreads,
  type ThreadPage,
  type ThreadSummary,
} from "./ops/threads.js";
export type {
  FirstRead,
  LeaseActivity,
  OperationEvent,
  OperationListener,
  PostgresCheckpointerOptions,
  WriteLease,
} from "./options.js";
export { PostgresCheckpointer } from "./saver.js";
export type { DbSeam } from "./seam.js";
export { quoteIdentifier, type Tables, tablesFor } from "./sql/identifiers.js";
export { latestVersion } from "./sql/migrate.js";
export {
  DUE_STATUSES,
  LEASED_STATUSES,
  leasedStatus,
  liveLease,
  RUN_STATUSES,
  type RunStatus,
  SETTLED_STATUSES,
  statusList,
} from "./sql/runs.js";
export type { OutcomeResult, OutcomeRow } from "./sql/writes.js";

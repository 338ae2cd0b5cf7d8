export {
  type Connection,
  type Database,
  PGliteDatabase,
  PgPoolDatabase,
  type Queryable,
  type QueryOptions,
  type QueryResult,
} from "./db.js";
export {
  CheckpointerError,
  type CheckpointerErrorCode,
  isConnectionError,
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
export {
  type CheckpointerMetrics,
  createMetrics,
  type MetricsOptions,
  readGauges,
} from "./metrics.js";
export { type PruneOptions, type PruneResult, prune } from "./ops/prune.js";
export { type CheckpointStats, getCheckpointStats } from "./ops/stats.js";
export {
  type ListThreadsOptions,
  listThreads,
  type ThreadPage,
  type ThreadSummary,
} from "./ops/threads.js";
export type {
  OperationEvent,
  OperationListener,
  PostgresCheckpointerOptions,
  WriteLease,
} from "./options.js";
export { PostgresCheckpointer } from "./saver.js";
export { quoteIdentifier, type Tables, tablesFor } from "./sql/identifiers.js";
export { latestVersion } from "./sql/migrate.js";

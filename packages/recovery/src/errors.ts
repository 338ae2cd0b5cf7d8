// RecoveryError, the one error class of @agentstate/recovery (a stable code and a message that
// says what to do), and helpers that read codes of it and of CheckpointerError.
export type RecoveryErrorCode =
  /** Another live owner holds the thread's lease. */
  | "LEASE_HELD"
  /** This worker's lease was taken over (or expired and was claimed) while it ran. */
  | "LEASE_LOST"
  /** A write was refused: another owner holds the thread now, or the thread was declared dead. */
  | "FENCED"
  /** The graph has no checkpointer, or not an @agentstate/checkpointer one. */
  | "NO_CHECKPOINTER"
  | "INVALID_ARGUMENT"
  | "INVALID_CONFIG"
  /** The thread has no checkpoints at all. */
  | "THREAD_NOT_FOUND"
  /** The thread exists but has no checkpoint with that id (or at that step). */
  | "CHECKPOINT_NOT_FOUND"
  /** The CLI could not find or load a graph module/export. */
  | "GRAPH_LOAD_FAILED"
  /** A receipt says the side effect started but never finished: it may or may not have happened. */
  | "OUTCOME_UNKNOWN"
  /**
   * The run stopped at a superstep boundary because a drain was requested (a deploy, SIGTERM).
   * Not a failure: its checkpoint is saved, the ledger says `drained`, any worker resumes it at once.
   */
  | "DRAINED"
  /** restore: the thread has rows in Postgres; restoring would overwrite them. */
  | "THREAD_EXISTS"
  /** restore: no archive record for the thread (and no `from` location given). */
  | "NOT_ARCHIVED"
  /** An archive location that is malformed, unsafe, missing or unreachable. */
  | "ARCHIVE_LOCATION"
  /** The archive file is not at its location. */
  | "ARCHIVE_NOT_FOUND"
  /** The archive file fails its checksums, is truncated, or is not an archive of this thread. */
  | "ARCHIVE_CORRUPT"
  /** The archive was written in a newer format than this version reads. */
  | "ARCHIVE_FORMAT_UNSUPPORTED"
  /** The archive has columns this schema lacks (written by a newer schema version). */
  | "ARCHIVE_INCOMPATIBLE";

/** The one error class of @agentstate/recovery; `code` is stable, `message` says what to do. */
export class RecoveryError extends Error {
  override readonly name = "RecoveryError";
  constructor(
    readonly code: RecoveryErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The `code` of a RecoveryError or CheckpointerError (both carry one), else undefined. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** True when the write was rejected because another worker owns the thread now. */
export function isFenced(error: unknown): boolean {
  const code = errorCode(error);
  return code === "FENCED" || code === "LEASE_LOST";
}

/** True when a durable run stopped because it was drained (see RecoveryErrorCode "DRAINED"). */
export function isDrained(error: unknown): boolean {
  return errorCode(error) === "DRAINED";
}

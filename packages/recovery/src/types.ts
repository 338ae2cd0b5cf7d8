// The types several modules share — ledger rows, a thread's classification, how a run ended, a
// recovery's result and its log event, the archive store — kept apart from the code that builds
// them, so that modules depend on each other only for what they call (no import cycles).
import type { RunStatus } from "@agentstate/checkpointer";
import type { RunnableConfig } from "@langchain/core/runnables";
import type { ErrorKind } from "./classify.js";
import type { ToolCallInfo } from "./toolcalls.js";

export type { RunStatus };

/** One ledger row, plus what the database clock says about it (no client clock is trusted). */
export interface RunRecord {
  threadId: string;
  status: RunStatus;
  owner: string | null;
  leaseUntil: Date | null;
  heartbeatAt: Date | null;
  fence: number;
  attempts: number;
  nextAttemptAt: Date | null;
  lastError: string | null;
  errorKind: ErrorKind | null;
  needsReview: boolean;
  graphId: string | null;
  headCheckpointId: string | null;
  startedAt: Date;
  updatedAt: Date;
  details: Record<string, unknown>;
  /** lease_until > now() on the database clock. */
  leaseLive: boolean;
  /** next_attempt_at has passed (or is unset). */
  due: boolean;
}

/** A thread as the database sees it: its ledger row (if any) and its last checkpoint time. */
export interface ThreadFacts {
  run: RunRecord | undefined;
  lastCheckpointAt: Date | null;
  /** Seconds since the last checkpoint, on the database clock. */
  idleSeconds: number | null;
}

/** How a run ended, as recorded in the ledger by its owner. */
export interface RunOutcome {
  status: Extract<RunStatus, "completed" | "waiting" | "failed" | "dead">;
  headCheckpointId?: string | null;
  error?: string | null;
  errorKind?: ErrorKind | null;
  /** For failed: when the next attempt may start. */
  retryInSeconds?: number | null;
  needsReview?: boolean;
  reason?: string | null;
}

/** The part of `details` in the ledger row that a resume reads (JSON). */
export interface ResumeRecord {
  config?: {
    recursionLimit?: number;
    durability?: "sync" | "async" | "exit";
    configurable?: Record<string, unknown>;
  };
  /** The run's input, serialized with the checkpointer's serde, while no checkpoint holds it. */
  input?: { type: string; data: string } | { skipped: string };
}

/** A stream/invoke config: LangGraph's RunnableConfig plus its stream options. */
export type DurableConfig = RunnableConfig & {
  streamMode?: unknown;
  durability?: "sync" | "async" | "exit";
  [option: string]: unknown;
};

/** How a leased stream ended, reported to whoever drives it (recovery uses it for its result). */
export interface LeasedRunResult {
  outcome: "completed" | "waiting" | "failed" | "lease_lost" | "cancelled" | "drained";
  error?: unknown;
}

export type ThreadState =
  | "running"
  | "waiting"
  | "completed"
  | "failed"
  | "crashed"
  | "dead"
  /** Stopped by a drain (a deploy) at a superstep boundary: recoverable at once, not stuck. */
  | "drained";

/** What checkStuckState() reports about a thread. */
export interface StuckState {
  threadId: string;
  state: ThreadState;
  /** crashed, failed or dead: not progressing and not waiting for anyone. */
  isStuck: boolean;
  /** A recovery would resume it now or after its backoff (false for dead, review, exhausted). */
  canRecover: boolean;
  /** The node that wrote the head checkpoint. */
  lastNode: string | null;
  /** Nodes that still have to run in the current step. */
  next: string[];
  /** Unanswered tool calls that a resume re-runs. */
  pendingToolCalls: ToolCallInfo[];
  /**
   * Tool calls a model turn made just before the crash (its writes stored, its step's checkpoint
   * not): never started; a resume runs them as the uncrashed run would have.
   */
  scheduledToolCalls: ToolCallInfo[];
  /** Unanswered tool calls that nothing will answer (the next model call would fail on them). */
  orphanedToolCalls: ToolCallInfo[];
  lastCheckpointAt: Date | null;
  attempts: number;
  /** Why, in one sentence, with what to do when it needs a human. */
  reason: string;
  headCheckpointId: string | null;
  /** Has a ledger row (ran under runDurably or was recovered before). */
  tracked: boolean;
  graphId: string | null;
  errorKind: ErrorKind | null;
  lastError: string | null;
  needsReview: boolean;
  owner: string | null;
  leaseUntil: Date | null;
  /** Backoff: the earliest time a recovery may start (null = now). */
  retryAt: Date | null;
}

export type RecoverStatus =
  /** This call claimed the thread and resumed it (see `outcome` for how that run ended). */
  | "resumed"
  /** Someone holds a live lease (a run, or another worker that won the claim). */
  | "already_running"
  /** Nothing to do: completed, or still within its grace period, or it moved meanwhile. */
  | "not_stuck"
  /** Waiting for a human (interrupt or breakpoint): never resumed automatically. */
  | "waiting"
  /** Dead now (attempts exhausted, permanent error, needs review) or already; see `reason`. */
  | "dead"
  /** Stuck, but its backoff has not elapsed; see `retryAt`. */
  | "deferred";

export interface RecoverResult {
  threadId: string;
  status: RecoverStatus;
  reason: string;
  /** How the resumed run ended, for status "resumed". */
  outcome?: LeasedRunResult["outcome"];
  /** The resumed run's error, if it failed again. */
  error?: string;
  attempts: number;
  retryAt?: Date | null;
  /** In-flight tool calls answered with an "outcome unknown" error instead of being re-run. */
  answeredToolCalls: number;
  /** Orphaned tool calls patched with error ToolMessages before resuming. */
  patchedToolCalls: number;
  /** The classification this decision was made on. */
  before: StuckState;
  /** Time this call took, classification to end of the resumed run. */
  durationMs: number;
}

/** One structured record per recovery decision: what thread, which node, attempt, outcome. */
export interface RecoveryLogEvent {
  event: "recovery";
  at: string;
  threadId: string;
  /** The node that wrote the head checkpoint (where the run stood). */
  node: string | null;
  /** Nodes that were still to run. */
  next: string[];
  state: string;
  status: RecoverResult["status"];
  outcome?: RecoverResult["outcome"];
  attempt: number;
  durationMs: number;
  reason: string;
  error?: string;
  pendingToolCalls: string[];
}

export type RecoveryLogger = (event: RecoveryLogEvent) => void;

/** Where archive files go; `location` is what the archive index records. */
export interface ArchiveStore {
  /** Canonical URL of the location (no credentials). */
  readonly location: string;
  put(key: string, body: Uint8Array): Promise<void>;
  /** The file, or undefined when there is none under `key`. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Throws ARCHIVE_LOCATION unless the location exists and answers (reads only). */
  check(): Promise<void>;
}

// The options every entry point shares (runDurably, detection, recovery, the service, the CLI),
// typed once, with their defaults and validation in resolveRecoveryOptions.
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { defaultErrorKind, type ErrorKind } from "./classify.js";
import { RecoveryError } from "./errors.js";
import type { RecoveryLogger } from "./types.js";

/** What to do with a tool call that was in flight when the run died and is not idempotent. */
export type InFlightToolPolicy =
  /** Do not resume: the thread goes dead with `needs_review`, for a human to decide. */
  | "review"
  /** Answer the call with an error ToolMessage ("outcome unknown") and resume; the model decides. */
  | "error"
  /** Run the tool again (only right if it is safe to run twice). */
  | "rerun";

/** Options shared by runDurably, detection, recovery, the service and the CLI. Typed once. */
export interface RecoveryOptions {
  /**
   * Seconds a lease lasts without renewal. A worker that dies is seen as crashed this long after
   * its last heartbeat or checkpoint write.
   * @default 30
   */
  leaseSeconds?: number;
  /**
   * How often a running worker renews its lease, in ms (checkpoint writes renew it too).
   * @default leaseSeconds * 1000 / 3
   */
  heartbeatMs?: number;
  /**
   * Seconds a run may go without progress (a step finishing, or `heartbeat()` from tool code)
   * before its lease stops being renewed. A hung tool then loses its thread `leaseSeconds` later
   * and a worker recovers it; a long tool that calls `heartbeat(config)` keeps it. Default after
   * Trigger.dev, which declares a run stalled after 5 minutes without a heartbeat.
   * @default 300
   */
  stallSeconds?: number;
  /**
   * Name of this worker in the ledger (`owner`).
   * @default "<hostname>:<pid>:<random>"
   */
  owner?: string;
  /** Graph id recorded in the ledger, so a sweep over several graphs knows which one resumes a thread. */
  graphId?: string;
  /**
   * Threads with no ledger row (plain `graph.invoke`, or written by the official saver): seconds
   * after their last checkpoint before pending work counts as crashed rather than still running.
   * @default 300
   */
  graceSeconds?: number;
  /**
   * Recovery attempts without progress (the head checkpoint did not advance) before a thread is dead.
   * @default 5
   */
  maxAttempts?: number;
  /** Backoff before the first retry, in ms; doubles (see backoffFactor) per attempt. @default 1000 */
  backoffInitialMs?: number;
  /** @default 2 */
  backoffFactor?: number;
  /** @default 300000 (5 minutes) */
  backoffMaxMs?: number;
  /** Random spread applied to each delay, as a fraction (0.2 = ±20%). @default 0.2 */
  jitter?: number;
  /** Non-idempotent tool calls that were in flight at the crash. @default "review" */
  inFlightTools?: InFlightToolPolicy;
  /** Tool names that are safe to run twice, besides tools passed through markIdempotent(). @default [] */
  idempotentTools?: string[];
  /** Sorts a node error into transient (retried with backoff) or permanent (dead). @default defaultErrorKind */
  classifyError?: (error: unknown) => ErrorKind;
  /** Durability mode of durable and resumed runs; "exit" would lose all progress on a crash. @default "sync" */
  durability?: "sync" | "async" | "exit";
  /**
   * `config.configurable` keys (besides thread_id) that a durable run stores in its ledger row
   * and every resume passes again, in any process: what the graph reads from its config (a
   * tenant, a user id). Values must be plain JSON. `recursionLimit` and `durability` are always kept.
   * @default []
   */
  resumableConfigKeys?: string[];
  /** Re-drive dead or failed threads, ignoring attempts and backoff. @default false */
  force?: boolean;
  /** Hears one structured event per recovery decision (see `jsonLogger`). @default no logging */
  logger?: RecoveryLogger;
}

export type ResolvedRecoveryOptions = Required<Omit<RecoveryOptions, "graphId">> & {
  graphId: string | undefined;
};

function positive(name: string, value: number, integer = false): number {
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new RecoveryError(
      "INVALID_CONFIG",
      `${name} must be a positive ${integer ? "integer" : "number"}, got ${value}.`,
    );
  }
  return value;
}

/** The defaults, in one place. */
export function resolveRecoveryOptions(options: RecoveryOptions = {}): ResolvedRecoveryOptions {
  const leaseSeconds = positive("leaseSeconds", options.leaseSeconds ?? 30);
  const jitter = options.jitter ?? 0.2;
  if (!(jitter >= 0 && jitter < 1)) {
    throw new RecoveryError("INVALID_CONFIG", `jitter must be in [0, 1), got ${jitter}.`);
  }
  const policy = options.inFlightTools ?? "review";
  if (!["review", "error", "rerun"].includes(policy)) {
    throw new RecoveryError(
      "INVALID_CONFIG",
      `inFlightTools must be "review", "error" or "rerun", got ${JSON.stringify(policy)}.`,
    );
  }
  return {
    logger: options.logger ?? (() => {}),
    leaseSeconds,
    heartbeatMs: positive("heartbeatMs", options.heartbeatMs ?? (leaseSeconds * 1000) / 3),
    stallSeconds: positive("stallSeconds", options.stallSeconds ?? 300),
    owner: options.owner ?? `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`,
    graphId: options.graphId,
    graceSeconds: options.graceSeconds ?? 300,
    maxAttempts: positive("maxAttempts", options.maxAttempts ?? 5, true),
    backoffInitialMs: options.backoffInitialMs ?? 1000,
    backoffFactor: options.backoffFactor ?? 2,
    backoffMaxMs: options.backoffMaxMs ?? 300_000,
    jitter,
    inFlightTools: policy,
    idempotentTools: options.idempotentTools ?? [],
    resumableConfigKeys: options.resumableConfigKeys ?? [],
    classifyError: options.classifyError ?? defaultErrorKind,
    durability: options.durability ?? "sync",
    force: options.force ?? false,
  };
}

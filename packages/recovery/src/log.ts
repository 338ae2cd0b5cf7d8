import type { RecoverResult } from "./recover.js";

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

/** The event of a finished recovery decision. */
export function recoveryEvent(result: RecoverResult): RecoveryLogEvent {
  const b = result.before;
  return {
    event: "recovery",
    at: new Date().toISOString(),
    threadId: result.threadId,
    node: b.lastNode,
    next: b.next,
    state: b.state,
    status: result.status,
    ...(result.outcome ? { outcome: result.outcome } : {}),
    attempt: result.attempts,
    durationMs: result.durationMs,
    reason: result.reason,
    ...(result.error ? { error: result.error } : {}),
    pendingToolCalls: b.pendingToolCalls.map((c) => `${c.name}:${c.id}`),
  };
}

/** A logger that writes each event as one JSON line (to stderr by default), for log shippers. */
export function jsonLogger(
  write: (line: string) => void = (line) => process.stderr.write(line),
): RecoveryLogger {
  return (event) => write(`${JSON.stringify(event)}\n`);
}

// Structured logging of recovery decisions: the event of a finished decision, and a logger that
// writes each as one JSON line (the event's type is in types.ts).
import type { RecoverResult, RecoveryLogEvent, RecoveryLogger } from "./types.js";

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

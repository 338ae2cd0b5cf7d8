// Error classification: transient errors are retried with backoff, permanent ones make the thread
// dead. The default classifier works on live errors and on errors stored in a checkpoint.
import { isConnectionError } from "@agentstate/checkpointer";

/** Transient errors are retried with backoff; permanent ones send the thread to dead. */
export type ErrorKind = "transient" | "permanent";

const TRANSIENT_NAMES = new Set([
  "TimeoutError",
  "RateLimitError",
  "APIConnectionError",
  "APIConnectionTimeoutError",
  "InternalServerError",
  "ServiceUnavailableError",
  "NodeTimeoutError",
]);

const TRANSIENT_MESSAGE =
  /timed? ?out|rate.?limit|overloaded|temporarily unavailable|try again|socket hang up|ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|\b(429|502|503|504)\b|connection (was )?(lost|terminated|reset)/i;

/**
 * The default classifier. Also works on the `{ name, message }` that LangGraph stores for a
 * failed node, so a thread classified from its checkpoint alone gets the same answer.
 */
export function defaultErrorKind(error: unknown): ErrorKind {
  if (error === null || typeof error !== "object") return "permanent";
  const e = error as {
    name?: unknown;
    message?: unknown;
    status?: unknown;
    statusCode?: unknown;
    code?: unknown;
    cause?: unknown;
  };
  if (error instanceof Error && isConnectionError(error)) return "transient";
  // The checkpointer's own codes for a write that had no effect and may succeed on retry.
  if (e.code === "CONNECTION_LOST" || e.code === "TIMEOUT") return "transient";
  const status = Number(e.status ?? e.statusCode);
  if (status === 408 || status === 425 || status === 429 || (status >= 500 && status < 600)) {
    return "transient";
  }
  if (typeof e.name === "string" && TRANSIENT_NAMES.has(e.name)) return "transient";
  if (typeof e.message === "string" && TRANSIENT_MESSAGE.test(e.message)) return "transient";
  if (e.cause && e.cause !== error) return defaultErrorKind(e.cause);
  return "permanent";
}

/** SQLSTATE codes we react to, named once. */
export const SQLSTATE = {
  UNDEFINED_TABLE: "42P01",
  UNIQUE_VIOLATION: "23505",
  ADMIN_SHUTDOWN: "57P01",
  CRASH_SHUTDOWN: "57P02",
  CANNOT_CONNECT_NOW: "57P03",
} as const;

export type CheckpointerErrorCode =
  | "INVALID_CONFIG"
  | "INVALID_SCHEMA_NAME"
  | "INVALID_ARGUMENT"
  | "NOT_SET_UP"
  | "CONNECTION_LOST"
  | "FENCED"
  | "THREAD_EXISTS"
  | "QUERY_FAILED";

/** The one error class of @agentstate/checkpointer; `code` is stable, `message` says how to fix. */
export class CheckpointerError extends Error {
  override readonly name = "CheckpointerError";
  constructor(
    readonly code: CheckpointerErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const CONNECTION_ERRNOS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
]);
const CONNECTION_MESSAGES = [
  "Connection terminated",
  "connection terminated",
  "Client has encountered a connection error",
  "Client was closed",
  "terminating connection",
];

/** True when the error means the server went away (restart, network), not that the query was wrong. */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") {
    if (CONNECTION_ERRNOS.has(code)) return true;
    if (code === SQLSTATE.ADMIN_SHUTDOWN || code === SQLSTATE.CRASH_SHUTDOWN) return true;
    if (code === SQLSTATE.CANNOT_CONNECT_NOW) return true;
  }
  if (error instanceof AggregateError) return error.errors.some(isConnectionError);
  return CONNECTION_MESSAGES.some((m) => error.message.includes(m));
}

/** Wraps driver errors: connection loss gets a code and a hint, the driver error stays as `cause`. */
export function wrapDbError(error: unknown, what: string): unknown {
  if (error instanceof CheckpointerError) return error;
  if (isConnectionError(error)) {
    return new CheckpointerError(
      "CONNECTION_LOST",
      `${what}: the database connection was lost (${(error as Error).message}). ` +
        "Nothing was half-written: each write is one atomic statement. Retry once the server is back; the pool reconnects by itself.",
      { cause: error },
    );
  }
  return error;
}

/** SQLSTATE codes we react to, named once. */
export const SQLSTATE = {
  UNDEFINED_TABLE: "42P01",
  UNDEFINED_COLUMN: "42703",
  UNDEFINED_SCHEMA: "3F000",
  UNIQUE_VIOLATION: "23505",
  INSUFFICIENT_PRIVILEGE: "42501",
  QUERY_CANCELED: "57014",
  LOCK_NOT_AVAILABLE: "55P03",
  PROGRAM_LIMIT_EXCEEDED: "54000",
  STATEMENT_TOO_COMPLEX: "54001",
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
  | "TIMEOUT"
  | "CONSTRAINT_VIOLATION"
  | "PERMISSION_DENIED"
  | "FENCED"
  | "THREAD_EXISTS"
  | "DATA_DIR_LOCKED"
  /** The thread was moved to the cold tier (`agentstate archive`); restore it to read it. */
  | "ARCHIVED"
  /** A compact value's chain lacks a row it builds on (deleted outside agentstate). */
  | "BROKEN_CHAIN"
  | "QUERY_FAILED";

/** The one error class of @agentstate/checkpointer; `code` is stable, `message` says how to fix. */
export class CheckpointerError extends Error {
  override readonly name = "CheckpointerError";
  /** The method that failed ("put", "list", "setup", …); absent for constructor/config errors. */
  readonly operation?: string;
  constructor(
    readonly code: CheckpointerErrorCode,
    message: string,
    options?: { cause?: unknown; operation?: string },
  ) {
    super(message, options);
    if (options?.operation !== undefined) this.operation = options.operation;
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
  if (error instanceof CheckpointerError) return error.code === "CONNECTION_LOST";
  if (!(error instanceof Error)) return false;
  const code = sqlStateOf(error);
  if (code !== undefined) {
    if (CONNECTION_ERRNOS.has(code)) return true;
    if (code.startsWith("08")) return true; // connection exception class
    if (code === SQLSTATE.ADMIN_SHUTDOWN || code === SQLSTATE.CRASH_SHUTDOWN) return true;
    if (code === SQLSTATE.CANNOT_CONNECT_NOW) return true;
  }
  if (error instanceof AggregateError) return error.errors.some(isConnectionError);
  return CONNECTION_MESSAGES.some((m) => error.message.includes(m));
}

/**
 * True for an error the database or the driver raised (a SQLSTATE, a lost connection), not yet
 * wrapped; false for anything else code inside a transaction threw.
 */
export function isDatabaseError(error: unknown): boolean {
  if (error instanceof CheckpointerError) return false;
  if (isConnectionError(error)) return true;
  // SQLSTATE classes are digits or letters other than E (E… are Node's errno codes).
  return /^[0-9A-DF-Z][0-9A-Z]{4}$/.test(sqlStateOf(error) ?? "");
}

function sqlStateOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** Code and what-to-do for a driver error, by SQLSTATE class. */
function classify(error: unknown): [CheckpointerErrorCode, string] {
  if (isConnectionError(error)) {
    return [
      "CONNECTION_LOST",
      "The database connection was lost or could not be made. Nothing was half-written: each write is one atomic statement. " +
        "Retry once the server is back; the pool reconnects by itself.",
    ];
  }
  const state = sqlStateOf(error) ?? "";
  if (state === SQLSTATE.QUERY_CANCELED || state === SQLSTATE.LOCK_NOT_AVAILABLE) {
    return [
      "TIMEOUT",
      "The server cancelled the statement (statement_timeout, lock_timeout or pg_cancel_backend); it had no effect. " +
        "Retry; if it recurs, look for a session holding locks on the checkpoint tables (pg_stat_activity) or raise the timeout for this role.",
    ];
  }
  if (state.startsWith("23")) {
    return [
      "CONSTRAINT_VIOLATION",
      "A constraint, foreign key or trigger that is not part of the checkpointer's schema rejected the write; it had no effect. " +
        "Remove or relax it: the checkpointer's own keys never conflict.",
    ];
  }
  if (
    state.startsWith("22") ||
    state === SQLSTATE.PROGRAM_LIMIT_EXCEEDED ||
    state === SQLSTATE.STATEMENT_TOO_COMPLEX
  ) {
    return [
      "INVALID_ARGUMENT",
      "Postgres rejected a value; the statement had no effect. See the input limits in the README (Errors).",
    ];
  }
  if (
    state === SQLSTATE.UNDEFINED_TABLE ||
    state === SQLSTATE.UNDEFINED_COLUMN ||
    state === SQLSTATE.UNDEFINED_SCHEMA
  ) {
    return [
      "NOT_SET_UP",
      "The checkpointer tables are missing or older than this version: call setup() (or run `agentstate setup`) once.",
    ];
  }
  if (state === SQLSTATE.INSUFFICIENT_PRIVILEGE) {
    return [
      "PERMISSION_DENIED",
      "The database role lacks a privilege: grant it USAGE/CREATE on the schema and SELECT, INSERT, UPDATE, DELETE on its tables " +
        "(or run setup() once as the owner, with createSchema: false if the schema already exists).",
    ];
  }
  return [
    "QUERY_FAILED",
    "The statement failed and had no effect. If it recurs, report it with this error's cause.",
  ];
}

/**
 * Turns any error from the database into a CheckpointerError: a code by SQLSTATE class, the
 * operation, a hint, and the driver error as `cause`. `what` is the method, e.g. "put()".
 */
export function wrapDbError(error: unknown, what: string): CheckpointerError {
  if (error instanceof CheckpointerError) return error;
  const operation = what.replace(/\(\)$/, "");
  const [code, hint] = classify(error);
  const detail = error instanceof Error ? error.message : String(error);
  const state = sqlStateOf(error);
  const tag = state && /^[0-9A-Z]{5}$/.test(state) ? ` [SQLSTATE ${state}]` : "";
  return new CheckpointerError(code, `${operation}(): ${detail}${tag}. ${hint}`, {
    cause: error,
    operation,
  });
}

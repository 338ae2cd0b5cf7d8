// The package's one error class, its codes, and their mapping onto deepagents' batch codes.
import type { FileOperationError } from "deepagents";

/**
 * Machine-readable reason for a failure. Backends turn these into `{ error }` results (the
 * protocol forbids throwing mid-run); stores and constructors throw them.
 */
export type BackendErrorCode =
  | "invalid_path"
  | "not_found"
  | "is_directory"
  | "not_directory"
  | "conflict"
  | "too_large"
  | "invalid_content"
  | "permission_denied"
  | "unavailable"
  | "unsupported"
  | "invalid_config"
  | "io_error";

/** The one error class of this package; `code` is stable, `message` is for people and models. */
export class CompositeBackendError extends Error {
  readonly code: BackendErrorCode;

  constructor(code: BackendErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CompositeBackendError";
    this.code = code;
  }
}

export function isCompositeBackendError(value: unknown): value is CompositeBackendError {
  return value instanceof CompositeBackendError;
}

/**
 * Maps our codes onto the four codes deepagents defines for upload/download results. deepagents
 * has no size code: a file over a size cap is `permission_denied` (the backend refuses it by
 * policy; the path itself is fine), with the reason in the response's `message`.
 */
export function toFileOperationError(code: BackendErrorCode): FileOperationError {
  switch (code) {
    case "not_found":
      return "file_not_found";
    case "permission_denied":
    case "unsupported":
    case "too_large":
      return "permission_denied";
    case "is_directory":
      return "is_directory";
    default:
      return "invalid_path";
  }
}

/** A failed upload/download item: deepagents' code, plus `message` when the code alone would mislead (a size cap). */
export interface FileOperationFailure {
  error: FileOperationError;
  message?: string;
}

export function fileOperationFailure(error: CompositeBackendError): FileOperationFailure {
  const code = toFileOperationError(error.code);
  return error.code === "too_large" ? { error: code, message: error.message } : { error: code };
}

/** A backend's `delete("/")` without `allowRootDelete`: `what` says what it would have wiped. */
export function rootDeleteRefused(what: string): CompositeBackendError {
  return new CompositeBackendError(
    "permission_denied",
    `Error: refusing to delete '/': it would delete ${what}. Delete the files or folders inside it instead (deleting the root needs the allowRootDelete option).`,
  );
}

/** Message of an unknown thrown value, without assuming it is an Error. */
export function describeThrown(value: unknown): string {
  if (value instanceof Error) return value.message;
  if (typeof value === "object" && value !== null && "message" in value) {
    return String((value as { message: unknown }).message);
  }
  return String(value);
}

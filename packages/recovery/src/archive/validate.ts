// Argument checks shared by archive() and restore().
import { RecoveryError } from "../errors.js";

export const invalid = (message: string) => new RecoveryError("INVALID_ARGUMENT", message);

/** Thread ids must be non-empty strings without NUL (Postgres text cannot hold it). */
export function checkThreadIds(what: string, ids: unknown): asserts ids is string[] {
  if (!Array.isArray(ids)) throw invalid(`${what}: threadIds must be an array of strings.`);
  for (const id of ids) {
    if (typeof id !== "string" || id.length === 0 || id.includes("\u0000")) {
      throw invalid(
        `${what}: thread id ${JSON.stringify(id)} must be a non-empty string without NUL.`,
      );
    }
  }
}

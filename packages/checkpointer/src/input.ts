// Up-front checks of caller input that Postgres would reject with a raw error, or silently alias.
import { CheckpointerError } from "./errors.js";

/**
 * Largest key values, in UTF-8 bytes. Together the key columns of one primary key stay well under
 * Postgres' btree row limit (~2,700 bytes): writes 512+1024+256+256, blobs 512+1024+512+256.
 */
export const KEY_LIMITS = {
  thread_id: 512,
  checkpoint_ns: 1024,
  checkpoint_id: 256,
  task_id: 256,
  channel: 512,
  version: 256,
} as const;

export type KeyName = keyof typeof KEY_LIMITS | "task_path";

/**
 * Deepest nesting of metadata and list filters. Deeper values do not survive: the serializer
 * silently replaces a few thousand levels with a placeholder string, JSON.stringify overflows
 * the stack a little further.
 */
export const MAX_JSON_DEPTH = 256;

/** INVALID_ARGUMENT for `operation`, its message prefixed with the method name. */
export function invalid(operation: string, message: string, cause?: unknown): CheckpointerError {
  return new CheckpointerError("INVALID_ARGUMENT", `${operation}(): ${message}`, {
    operation,
    ...(cause === undefined ? {} : { cause }),
  });
}

/** ES2024's String.prototype.isWellFormed (Node ≥ 20); the compile target's lib predates it. */
const wellFormed = (s: string) => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

const describe = (value: unknown) =>
  Array.isArray(value) ? "an array" : typeof value === "object" ? "an object" : `a ${typeof value}`;

/**
 * A key as the text stored. Strings pass; numbers and bigints become their decimal text (the
 * official saver accepts them the same way). Anything else would be stored as "[object Object]"
 * and alias every other such id. Rejects NUL, lone surrogates (stored as U+FFFD, so two ids would
 * share checkpoints) and values over KEY_LIMITS.
 */
export function checkKey(
  operation: string,
  name: KeyName,
  value: unknown,
  allowEmpty = false,
): string {
  if (value === undefined || value === null || (!allowEmpty && value === "")) {
    throw invalid(operation, `${name} is missing or empty.`);
  }
  let text: string;
  if (typeof value === "string") text = value;
  else if ((typeof value === "number" && Number.isFinite(value)) || typeof value === "bigint") {
    text = String(value);
  } else {
    throw invalid(
      operation,
      `${name} must be a string (or a number), got ${describe(value)}: as text it would share checkpoints with other ids (every object becomes "[object Object]").`,
    );
  }
  if (text.includes("\u0000")) {
    throw invalid(operation, `${name} must not contain NUL (\\u0000) characters.`);
  }
  if (!wellFormed(text)) {
    throw invalid(
      operation,
      `${name} contains a lone UTF-16 surrogate (half of an emoji or other astral character, often from slice()). ` +
        "Postgres would store it as U+FFFD and two different ids would read each other's checkpoints. Fix it with String.prototype.toWellFormed().",
    );
  }
  const limit = name === "task_path" ? Number.POSITIVE_INFINITY : KEY_LIMITS[name];
  // A UTF-16 unit is at most 3 UTF-8 bytes, so short keys skip the byte count.
  if (text.length * 3 > limit) {
    const bytes = Buffer.byteLength(text, "utf8");
    if (bytes > limit) {
      throw invalid(
        operation,
        `${name} is ${bytes} bytes; the limit is ${limit} bytes (UTF-8) so that keys fit Postgres' index rows. Hash longer ids (e.g. SHA-256) before passing them.`,
      );
    }
  }
  return text;
}

/**
 * Refuses objects nested deeper than MAX_JSON_DEPTH (a cycle counts as too deep). The walk stops
 * at the limit, so it cannot overflow the stack itself; metadata and filters are small.
 */
export function checkDepth(operation: string, name: string, value: unknown): void {
  const walk = (v: unknown, depth: number): void => {
    if (v === null || typeof v !== "object" || ArrayBuffer.isView(v)) return;
    if (depth > MAX_JSON_DEPTH) {
      throw invalid(
        operation,
        `${name} is nested more than ${MAX_JSON_DEPTH} levels deep (or is circular); the limit is ${MAX_JSON_DEPTH}. Flatten it or store the structure as a channel value.`,
      );
    }
    for (const item of Array.isArray(v) ? v : Object.values(v)) walk(item, depth + 1);
  };
  walk(value, 1);
}

/** JSON of a list filter, or INVALID_ARGUMENT when it cannot be serialized. */
export function toJsonText(operation: string, name: string, value: unknown): string {
  checkDepth(operation, name, value);
  let text: string;
  try {
    text = JSON.stringify(value) ?? "null";
  } catch (cause) {
    throw invalid(
      operation,
      `${name} cannot be serialized to JSON (${(cause as Error).message}).`,
      cause,
    );
  }
  checkJsonText(operation, name, text);
  return text;
}

/**
 * Checks JSON text bound for a JSONB column: nesting at most MAX_JSON_DEPTH, and no lone surrogate
 * (JSON.stringify writes one as a `\udXXX` escape, which JSONB rejects with SQLSTATE 22P02).
 * Small, surrogate-free text, the common case, is not scanned.
 */
export function checkJsonText(operation: string, name: string, text: string): void {
  const mayBeDeep = text.length > 2 * MAX_JSON_DEPTH;
  if (!mayBeDeep && !/\\u[dD][89a-fA-F]/.test(text) && wellFormed(text)) return;
  if (!wellFormed(text)) throw loneSurrogate(operation, name);
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x22) inString = false;
      else if (c === 0x5c) {
        if (text.charCodeAt(i + 1) !== 0x75) i += 1;
        else {
          const unit = Number.parseInt(text.slice(i + 2, i + 6), 16);
          if (unit >= 0xdc00 && unit <= 0xdfff) throw loneSurrogate(operation, name);
          if (unit >= 0xd800 && unit <= 0xdbff) {
            const low =
              text.charCodeAt(i + 6) === 0x5c && text.charCodeAt(i + 7) === 0x75
                ? Number.parseInt(text.slice(i + 8, i + 12), 16)
                : -1;
            if (!(low >= 0xdc00 && low <= 0xdfff)) throw loneSurrogate(operation, name);
            i += 6;
          }
          i += 5;
        }
      }
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth += 1;
      if (depth > MAX_JSON_DEPTH) {
        throw invalid(
          operation,
          `${name} is nested more than ${MAX_JSON_DEPTH} levels deep; the limit is ${MAX_JSON_DEPTH}. Flatten it or store the structure as a channel value.`,
        );
      }
    } else if (c === 0x7d || c === 0x5d) depth -= 1;
  }
}

function loneSurrogate(operation: string, name: string): CheckpointerError {
  return invalid(
    operation,
    `${name} contains a string with a lone UTF-16 surrogate, which Postgres' JSONB rejects. Fix it with String.prototype.toWellFormed().`,
  );
}

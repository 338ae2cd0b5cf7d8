// Content rules every backend shares: line pages, exact replacement, grep, base64 and size checks.
import type { GrepMatch, ReadResult } from "deepagents";
import { normalizeReadPagination } from "deepagents";
import { CompositeBackendError } from "./errors.js";

/** Default page size of `read`, as in deepagents' backends. */
export const DEFAULT_READ_LIMIT = 500;

/**
 * One page of a text file, with the same window arithmetic as deepagents' StateBackend so that
 * every route paginates identically: lines split on "\n", a trailing newline does not count as
 * a line, and an empty window carries no line metadata.
 */
export function paginateText(
  content: string,
  mimeType: string,
  offset: number | undefined,
  limit: number | undefined,
): ReadResult {
  const window = normalizeReadPagination(offset ?? 0, limit ?? DEFAULT_READ_LIMIT);
  const whole = wholeFileWindow(content, window.offset, window.limit);
  if (whole)
    return whole.totalLines === 0 ? { content, mimeType } : { content, mimeType, ...whole };
  const lines = content.split("\n");
  const totalLines = lines[lines.length - 1] === "" ? lines.length - 1 : lines.length;
  const selected = lines.slice(window.offset, window.offset + window.limit);
  return pageResult(selected, totalLines, window.offset, window.limit, mimeType);
}

/**
 * The common case, a file that fits one page from the top, answered by counting newlines
 * instead of splitting and re-joining every line. Same result as the general path.
 */
function wholeFileWindow(content: string, offset: number, limit: number) {
  if (offset !== 0 || limit === 0 || content === "") return undefined;
  let pieces = 1;
  for (let at = content.indexOf("\n"); at !== -1; at = content.indexOf("\n", at + 1)) {
    if (++pieces > limit) return undefined;
  }
  const totalLines = content.endsWith("\n") ? pieces - 1 : pieces;
  return { totalLines, startLine: 1, endLine: totalLines, nextOffset: undefined };
}

/** Builds the result for lines already selected (shared with the streaming reader). */
export function pageResult(
  selected: string[],
  totalLines: number,
  offset: number,
  limit: number,
  mimeType: string,
): ReadResult {
  const content = selected.join("\n");
  if (selected.length === 0 || offset >= totalLines || limit === 0) return { content, mimeType };
  const endLine = Math.min(offset + selected.length, totalLines);
  return {
    content,
    mimeType,
    totalLines,
    startLine: offset + 1,
    endLine,
    nextOffset: endLine < totalLines ? endLine : undefined,
  };
}

export type Replacement =
  | { ok: true; content: string; occurrences: number }
  | { ok: false; message: string };

/**
 * Exact-string replacement with deepagents' rules: an empty file may be seeded with an empty
 * old string; otherwise the old string must be present, and unique unless `replaceAll`.
 */
export function replaceExact(
  content: string,
  oldString: string,
  newString: string,
  replaceAll: boolean,
  displayPath: string,
): Replacement {
  if (content === "" && oldString === "") return { ok: true, content: newString, occurrences: 0 };
  if (oldString === "") {
    return {
      ok: false,
      message: `Error: old_string cannot be empty when '${displayPath}' has content`,
    };
  }
  const parts = content.split(oldString);
  const occurrences = parts.length - 1;
  if (occurrences === 0) {
    return {
      ok: false,
      message: `Error: old_string not found in '${displayPath}': '${oldString}'`,
    };
  }
  if (occurrences > 1 && !replaceAll) {
    return {
      ok: false,
      message:
        `Error: old_string appears ${occurrences} times in '${displayPath}'. ` +
        "Pass replace_all=true to replace every occurrence, or include more surrounding context so it is unique.",
    };
  }
  return { ok: true, content: parts.join(newString), occurrences };
}

/**
 * Literal (not regex) search of one file's lines, as deepagents does it (lines split on "\n";
 * a pattern cannot span lines). Jumps from occurrence to occurrence with indexOf instead of
 * splitting every line, so files without a match cost one scan. `limit` stops early.
 */
export function grepText(
  path: string,
  content: string,
  pattern: string,
  limit: number,
): GrepMatch[] {
  const matches: GrepMatch[] = [];
  if (pattern.includes("\n")) return matches;
  let line = 1;
  let lineStart = 0;
  let at = content.indexOf(pattern);
  while (at !== -1 && matches.length < limit) {
    for (
      let nl = content.indexOf("\n", lineStart);
      nl !== -1 && nl < at;
      nl = content.indexOf("\n", nl + 1)
    ) {
      line++;
      lineStart = nl + 1;
    }
    const lineEnd = content.indexOf("\n", at);
    matches.push({
      path,
      line,
      text: content.slice(lineStart, lineEnd === -1 ? content.length : lineEnd),
    });
    if (lineEnd === -1) break;
    // One match per line: continue after this line.
    line++;
    lineStart = lineEnd + 1;
    at = content.indexOf(pattern, lineStart);
  }
  return matches;
}

const BASE64_BODY = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * deepagents' write tool hands binary files (by extension) over as base64 text, optionally as a
 * data: URL. Invalid input is refused rather than silently decoded to garbage.
 */
export function decodeBase64Content(
  content: string,
  displayPath: string,
): Uint8Array | CompositeBackendError {
  const trimmed = content.trim();
  const payload = trimmed.startsWith("data:") ? trimmed.slice(trimmed.indexOf(",") + 1) : trimmed;
  const compact = payload.replace(/\s/g, "");
  if (compact.length % 4 === 1 || !BASE64_BODY.test(compact)) {
    return new CompositeBackendError(
      "invalid_content",
      `Error: '${displayPath}' is a binary file type; its content must be base64-encoded`,
    );
  }
  return new Uint8Array(Buffer.from(compact, "base64"));
}

/** Largest string a base64 payload of `maxBytes` can plausibly be: twice its encoded size, for line breaks and spacing. */
function base64CharCap(maxBytes: number): number {
  return 2 * 4 * Math.ceil(maxBytes / 3) + 4096;
}

/** Bytes a base64 text decodes to, counted without copying it (whitespace and a data: header skipped). */
function base64DecodedBytes(content: string): number {
  let start = 0;
  while (start < content.length && content.charCodeAt(start) <= 32) start++;
  if (content.startsWith("data:", start)) start = content.indexOf(",", start) + 1;
  let symbols = 0;
  for (let i = start; i < content.length; i++) {
    const c = content.charCodeAt(i);
    // A-Z a-z 0-9 + /
    if (
      (c >= 65 && c <= 90) ||
      (c >= 97 && c <= 122) ||
      (c >= 48 && c <= 57) ||
      c === 43 ||
      c === 47
    )
      symbols++;
  }
  return Math.floor((symbols * 3) / 4);
}

/**
 * Refuses content over `maxBytes` before it is encoded or decoded, so an oversize write costs no
 * copy of it. Text: every UTF-16 unit is at least one UTF-8 byte, so a string longer than the
 * limit is over it without looking further (nor flattening it); otherwise Buffer.byteLength
 * counts without encoding. Base64: its length bounds the decoded size (3 bytes per 4 chars);
 * only when that bound is inconclusive are the symbols counted, in place.
 */
export function oversizeContent(
  content: string,
  binary: boolean,
  maxBytes: number,
  displayPath: string,
): CompositeBackendError | undefined {
  const limit = `over the ${formatBytes(maxBytes)} write limit`;
  if (!binary) {
    if (content.length > maxBytes) {
      return new CompositeBackendError(
        "too_large",
        `Content for '${displayPath}' is at least ${formatBytes(content.length)}, ${limit}`,
      );
    }
    const bytes = Buffer.byteLength(content, "utf8");
    if (bytes <= maxBytes) return undefined;
    return new CompositeBackendError(
      "too_large",
      `Content for '${displayPath}' is ${formatBytes(bytes)}, ${limit}`,
    );
  }
  if (Math.floor((content.length * 3) / 4) <= maxBytes) return undefined;
  if (content.length > base64CharCap(maxBytes)) {
    return new CompositeBackendError(
      "too_large",
      `Content for '${displayPath}' is ${content.length} characters of base64, ${limit}`,
    );
  }
  const bytes = base64DecodedBytes(content);
  if (bytes <= maxBytes) return undefined;
  return new CompositeBackendError(
    "too_large",
    `Content for '${displayPath}' decodes to ${formatBytes(bytes)}, ${limit}`,
  );
}

/** The write-limit error for content already in bytes (uploads, decoded writes), if over. */
export function oversizeBytes(
  byteLength: number,
  maxBytes: number,
  displayPath: string,
): CompositeBackendError | undefined {
  if (byteLength <= maxBytes) return undefined;
  return new CompositeBackendError(
    "too_large",
    `Content for '${displayPath}' is ${formatBytes(byteLength)}, over the ${formatBytes(maxBytes)} write limit`,
  );
}

export function encodeText(content: string): Uint8Array {
  return new Uint8Array(Buffer.from(content, "utf8"));
}

export function decodeText(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

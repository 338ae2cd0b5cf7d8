// Virtual paths: parsed, normalised, and refused (traversal, NUL, control characters) up front.
import { CompositeBackendError } from "./errors.js";

/** A validated, normalised virtual path: `/a/b` has segments `["a", "b"]`; `/` has none. */
export interface VirtualPath {
  readonly segments: readonly string[];
  /** Canonical form: leading slash, no trailing slash, no empty or `.` segments. */
  readonly path: string;
}

const MAX_PATH_LENGTH = 4096;
const MAX_SEGMENT_BYTES = 255;
// Control characters (NUL included) have no business in a file name and confuse logs and models.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
const PERCENT_ESCAPE = /%[0-9a-f]{2}/i;

function invalid(input: string, why: string): CompositeBackendError {
  return new CompositeBackendError("invalid_path", `Invalid path ${JSON.stringify(input)}: ${why}`);
}

/**
 * A segment that is harmless on disk may still be read as traversal by something downstream: a
 * proxy that percent-decodes, a URL parser that normalises `..`, a tool that NFKC-folds
 * full-width dots. Refuse those forms at the edge rather than trust every layer beneath.
 */
function segmentProblem(segment: string): string | undefined {
  if (segment === "..") return "'..' segments are not allowed";
  const folded = segment.normalize("NFKC");
  if (folded === "." || folded === "..") return "segments that fold to '.' or '..' are not allowed";
  if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES)
    return "a path segment is longer than 255 bytes";
  let decoded = segment;
  for (let round = 0; round < 3 && PERCENT_ESCAPE.test(decoded); round++) {
    try {
      decoded = decodeURIComponent(decoded);
    } catch {
      return undefined; // a stray '%' is just a character
    }
    if (
      decoded === "." ||
      decoded === ".." ||
      /[/\\]/.test(decoded) ||
      CONTROL_CHARS.test(decoded)
    ) {
      return "percent-encoded traversal is not allowed";
    }
  }
  return undefined;
}

/** Validates and normalises a path given by a caller (usually a model). Never throws. */
export function parseVirtualPath(input: unknown): VirtualPath | CompositeBackendError {
  if (typeof input !== "string") return invalid(String(input), "not a string");
  if (input.length > MAX_PATH_LENGTH)
    return invalid(`${input.slice(0, 40)}…`, "longer than 4096 characters");
  if (CONTROL_CHARS.test(input))
    return invalid(input, "control characters (including NUL) are not allowed");
  if (input.includes("\\"))
    return invalid(input, "use forward slashes; backslashes are not allowed");
  const segments: string[] = [];
  for (const segment of input.split("/")) {
    if (segment === "" || segment === ".") continue;
    const problem = segmentProblem(segment);
    if (problem) return invalid(input, problem);
    segments.push(segment);
  }
  return { segments, path: `/${segments.join("/")}` };
}

export function joinVirtual(base: string, relative: string): string {
  if (relative === "" || relative === "/") return base;
  const trimmed = relative.startsWith("/") ? relative.slice(1) : relative;
  return base === "/" ? `/${trimmed}` : `${base}/${trimmed}`;
}

/** True when `path` is `dir` itself or lies beneath it, on segment boundaries. */
export function isWithin(path: string, dir: string): boolean {
  if (dir === "/") return true;
  return path === dir || path.startsWith(`${dir}/`);
}

export function baseName(path: string): string {
  const index = path.lastIndexOf("/");
  return index === -1 ? path : path.slice(index + 1);
}

/** Code-point order: deterministic across locales, unlike localeCompare. */
export function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

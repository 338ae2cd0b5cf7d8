// Glob patterns for every backend: brace expansion, rebasing onto routes, literal prefixes.
import micromatch from "micromatch";
import { baseName } from "./paths.js";

const GLOB_CHARS = /[*?[\]{}()!+@]/;
const MAX_BRACE_EXPANSION = 64;
const MATCH_OPTIONS = { dot: true } as const;

export function hasGlobChars(text: string): boolean {
  return GLOB_CHARS.test(text);
}

/**
 * Brace alternatives may contain slashes (`{src/a,lib}/*.ts`), which would break per-segment
 * reasoning, so they are expanded first. A runaway range (`{1..100000}`) is left unexpanded.
 */
export function expandBraces(pattern: string): string[] {
  if (!pattern.includes("{")) return [pattern];
  const expanded = micromatch.braces(pattern, { expand: true });
  return expanded.length > 0 && expanded.length <= MAX_BRACE_EXPANSION ? expanded : [pattern];
}

export function patternSegments(pattern: string): string[] {
  return pattern.split("/").filter((segment) => segment !== "" && segment !== ".");
}

function segmentMatches(name: string, pattern: string): boolean {
  return hasGlobChars(pattern)
    ? micromatch.isMatch(name, pattern, MATCH_OPTIONS)
    : name === pattern;
}

/**
 * Given a pattern relative to some directory D and a directory P = D/prefix..., returns the
 * patterns relative to P that select exactly the files under P the original pattern selects.
 * `**` may swallow any number of the prefix's segments, hence possibly several answers; an
 * empty answer means nothing under P can match. This is what lets the composite strip a route
 * prefix from a glob pattern (and a backend strip its search path from an absolute pattern).
 */
export function rebasePattern(prefix: readonly string[], pattern: readonly string[]): string[] {
  const out = new Set<string>();
  const seen = new Set<number>();
  const width = pattern.length + 1;
  const walk = (i: number, j: number): void => {
    const state = i * width + j;
    if (seen.has(state)) return;
    seen.add(state);
    if (i === prefix.length) {
      if (j < pattern.length) out.add(pattern.slice(j).join("/"));
      return;
    }
    if (j === pattern.length) return;
    const segment = pattern[j]!;
    if (segment === "**") {
      walk(i + 1, j);
      walk(i, j + 1);
    } else if (segmentMatches(prefix[i]!, segment)) {
      walk(i + 1, j + 1);
    }
  };
  walk(0, 0);
  return [...out];
}

/**
 * The patterns, relative to `searchSegments`, that a (possibly absolute) glob pattern means.
 * A relative pattern is relative to the search path; an absolute one is anchored at the root.
 */
export function relativePatterns(pattern: string, searchSegments: readonly string[]): string[] {
  const out = new Set<string>();
  for (const alternative of expandBraces(pattern)) {
    if (!alternative.startsWith("/")) {
      out.add(patternSegments(alternative).join("/"));
      continue;
    }
    for (const rebased of rebasePattern(searchSegments, patternSegments(alternative)))
      out.add(rebased);
  }
  out.delete("");
  return [...out];
}

/** Leading literal segments of a relative pattern: where a walk can start. */
export function literalPrefix(pattern: string): { base: string[]; rest: string[] } {
  const segments = patternSegments(pattern);
  let index = 0;
  while (index < segments.length && !hasGlobChars(segments[index]!)) index++;
  // The last segment names files, so it never becomes part of the directory to walk.
  if (index === segments.length) index = segments.length - 1;
  return { base: segments.slice(0, index), rest: segments.slice(index) };
}

/** Greatest depth (below the walk base) a pattern can reach; Infinity once `**` appears. */
export function maxDepth(rest: readonly string[]): number {
  return rest.some((segment) => segment.includes("**")) ? Number.POSITIVE_INFINITY : rest.length;
}

export function compileGlobs(patterns: readonly string[]): (relativePath: string) => boolean {
  const matchers = patterns.map((pattern) => micromatch.matcher(pattern, MATCH_OPTIONS));
  return (relativePath) => matchers.some((match) => match(relativePath));
}

/**
 * grep's file filter: a glob without a slash matches the file name (deepagents' rule); one with
 * a slash matches the path relative to the search root.
 */
export function grepFileFilter(glob: string | null | undefined): (relativePath: string) => boolean {
  if (!glob) return () => true;
  if (!glob.includes("/")) {
    const match = micromatch.matcher(glob, MATCH_OPTIONS);
    return (relativePath) => match(baseName(relativePath));
  }
  return compileGlobs(
    expandBraces(glob).map((alternative) => patternSegments(alternative).join("/")),
  );
}

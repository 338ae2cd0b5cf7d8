// CompositeBackend operations that can span routes: ls, glob, grep and delete from a parent.
import type {
  BackendProtocolV2,
  DeleteResult,
  FileData,
  FileInfo,
  GlobResult,
  GrepMatch,
  GrepResult,
  LsResult,
} from "deepagents";
import { CompositeBackendError } from "./errors.js";
import { expandBraces, patternSegments, rebasePattern, relativePatterns } from "./glob.js";
import { comparePaths, isWithin, parseVirtualPath, type VirtualPath } from "./paths.js";
import { guarded, outerPath, type Route, type RouteTable, rewriteMessage } from "./routes.js";

/** One backend taking part in a parent-path operation, with the path it is asked about. */
interface Leg {
  route: Route | undefined;
  backend: BackendProtocolV2;
  inner: string;
}

function legsFor(table: RouteTable, vp: VirtualPath): { owner: Leg; nested: Route[] } {
  const target = table.target(vp);
  const nested = table.nestedUnder(vp, target.route);
  return { owner: target, nested };
}

function routeLeg(route: Route): Leg {
  return { route, backend: route.backend, inner: "/" };
}

/** The same report for every fan-out: partial results plus which routes failed and why. */
function failureNote(failures: string[]): string | undefined {
  if (failures.length === 0) return undefined;
  return `Error: results are incomplete because ${failures.length === 1 ? "a route" : "some routes"} failed: ${failures.join("; ")}`;
}

function legFailure(leg: Leg, error: string, outer: string): string {
  const where = leg.route ? `route '${leg.route.prefix}'` : "default backend";
  return `${where}: ${rewriteMessage(error, leg.route, leg.inner, outer)}`;
}

const invalid = (error: CompositeBackendError) => ({ error: error.message });

export async function lsAcross(table: RouteTable, path: string): Promise<LsResult> {
  const vp = parseVirtualPath(path);
  if (vp instanceof CompositeBackendError) return invalid(vp);
  const { owner, nested } = legsFor(table, vp);
  const result = await guarded(() => owner.backend.ls(owner.inner), `ls '${vp.path}'`);
  const entries = new Map<string, FileInfo>();
  for (const info of result.files ?? []) {
    const full = outerPath(owner.route, info.path);
    if (!table.shadowed(full, owner.route)) entries.set(full, { ...info, path: full });
  }
  // A route mounted below shows up as a directory, like a mount point in `ls`.
  for (const route of nested) {
    const child = `${vp.segments.length === 0 ? "" : vp.path}/${route.segments[vp.segments.length]}/`;
    if (!entries.has(child))
      entries.set(child, { path: child, is_dir: true, size: 0, modified_at: "" });
  }
  const files = [...entries.values()].sort((a, b) => comparePaths(a.path, b.path));
  if (!result.error) return { files };
  return { files, error: rewriteMessage(result.error, owner.route, owner.inner, vp.path) };
}

/** Relative patterns for a route below the search path; none means it cannot match. */
function patternsForRoute(pattern: string, vp: VirtualPath, route: Route): string[] {
  const out = new Set<string>();
  for (const alternative of expandBraces(pattern)) {
    const absolute = alternative.startsWith("/");
    const prefix = absolute ? route.segments : route.segments.slice(vp.segments.length);
    for (const rebased of rebasePattern(prefix, patternSegments(alternative))) out.add(rebased);
  }
  return [...out];
}

export async function globAcross(
  table: RouteTable,
  pattern: string,
  path: string,
): Promise<GlobResult> {
  const vp = parseVirtualPath(path);
  if (vp instanceof CompositeBackendError) return invalid(vp);
  const { owner, nested } = legsFor(table, vp);
  // Absolute patterns are anchored at the composite root; each backend gets them rebased
  // onto its own search path, so "/projects/**/*.md" works inside the /projects/ route.
  const ownerPatterns = pattern.startsWith("/")
    ? relativePatterns(pattern, vp.segments)
    : [pattern];
  const calls: Array<{ leg: Leg; pattern: string }> = ownerPatterns.map((p) => ({
    leg: owner,
    pattern: p,
  }));
  for (const route of nested) {
    for (const p of patternsForRoute(pattern, vp, route))
      calls.push({ leg: routeLeg(route), pattern: p });
  }
  const results = await Promise.all(
    calls.map(({ leg, pattern: p }) =>
      guarded(
        () => leg.backend.glob(p, leg.inner),
        `glob '${p}' in '${outerPath(leg.route, leg.inner)}'`,
      ),
    ),
  );
  const files = new Map<string, FileInfo>();
  const failures: string[] = [];
  let truncated = false;
  results.forEach((result, index) => {
    const { leg } = calls[index]!;
    if (result.error) failures.push(legFailure(leg, result.error, outerPath(leg.route, leg.inner)));
    truncated ||= result.truncated === true;
    for (const info of result.files ?? []) {
      const full = outerPath(leg.route, info.path);
      if (!table.shadowed(full, leg.route)) files.set(full, { ...info, path: full });
    }
  });
  const merged = [...files.values()].sort((a, b) => comparePaths(a.path, b.path));
  const error = failureNote(failures);
  if (error) return { files: merged, truncated: true, error };
  return truncated ? { files: merged, truncated } : { files: merged };
}

export async function grepAcross(
  table: RouteTable,
  pattern: string,
  path: string,
  glob: string | null,
  maxCount: number | null,
): Promise<GrepResult> {
  const vp = parseVirtualPath(path);
  if (vp instanceof CompositeBackendError) return invalid(vp);
  const { owner, nested } = legsFor(table, vp);
  const calls: Array<{ leg: Leg; glob: string | null }> = [{ leg: owner, glob }];
  for (const route of nested) {
    // A glob with a slash is relative to the search path, so it is rebased like a pattern.
    const globs = glob?.includes("/") ? patternsForRoute(glob, vp, route) : [glob];
    if (globs.length === 0) continue;
    calls.push({
      leg: routeLeg(route),
      glob: globs.length === 1 ? globs[0]! : `{${globs.join(",")}}`,
    });
  }
  const results = await Promise.all(
    calls.map(({ leg, glob: g }) =>
      guarded(
        () => leg.backend.grep(pattern, leg.inner, g, maxCount),
        `grep in '${outerPath(leg.route, leg.inner)}'`,
      ),
    ),
  );
  const matches: GrepMatch[] = [];
  const failures: string[] = [];
  let truncated = false;
  results.forEach((result, index) => {
    const { leg } = calls[index]!;
    if (result.error) failures.push(legFailure(leg, result.error, outerPath(leg.route, leg.inner)));
    truncated ||= result.truncated === true;
    for (const match of result.matches ?? []) {
      const full = outerPath(leg.route, match.path);
      if (!table.shadowed(full, leg.route)) matches.push({ ...match, path: full });
    }
  });
  if (maxCount != null && matches.length > maxCount) {
    matches.length = maxCount;
    truncated = true;
  }
  const error = failureNote(failures);
  if (error) return { matches, truncated: true, error };
  return truncated ? { matches, truncated } : { matches };
}

/** Why deleting `vp` would wipe a whole backend ("/" or a route's root, or a parent of one). */
function wholeBackendDelete(table: RouteTable, vp: VirtualPath): string | undefined {
  const instead = "Delete the files or folders inside it instead.";
  if (vp.segments.length === 0)
    return `Error: refusing to delete '/': it would delete every file in every backend, each route included. ${instead}`;
  const own = table.routes.find((route) => route.dir === vp.path);
  if (own)
    return `Error: refusing to delete '${vp.path}': it is the root of route '${own.prefix}' and would delete everything stored there. ${instead}`;
  const below = table.routes.find((route) => isWithin(route.dir, vp.path));
  if (below)
    return `Error: refusing to delete '${vp.path}': it contains the route '${below.prefix}', whose storage would be emptied. ${instead}`;
  return undefined;
}

/**
 * Deletes a path in its own backend and every route mounted below it, in that order. All
 * backends are checked for delete support first; a failure midway stops the rest and says so.
 * Unless `allowRootDelete`, a delete that would empty a whole backend is refused up front.
 */
export async function deleteAcross(
  table: RouteTable,
  path: string,
  allowRootDelete: boolean,
): Promise<DeleteResult> {
  const vp = parseVirtualPath(path);
  if (vp instanceof CompositeBackendError) return invalid(vp);
  const refusal = allowRootDelete ? undefined : wholeBackendDelete(table, vp);
  if (refusal) return { error: refusal };
  const { owner, nested } = legsFor(table, vp);
  const legs = [owner, ...nested.map(routeLeg)];
  const unsupported = legs.find((leg) => typeof leg.backend.delete !== "function");
  if (unsupported) {
    const where = unsupported.route ? `route '${unsupported.route.prefix}'` : "the default backend";
    return { error: `Error: cannot delete '${vp.path}': ${where} does not support deletion` };
  }
  const filesUpdate: Record<string, null> = {};
  let deleted = 0;
  let firstError: string | undefined;
  for (const leg of legs) {
    const outer = outerPath(leg.route, leg.inner);
    const result = await guarded(() => leg.backend.delete!(leg.inner), `delete '${outer}'`);
    if (result.error) {
      const message = rewriteMessage(
        result.error,
        leg.route,
        leg.inner,
        leg === owner ? vp.path : outer,
      );
      // "Not found" in one backend is fine when another held the files.
      if (/not found/i.test(message) && legs.length > 1) {
        firstError ??= message;
        continue;
      }
      if (deleted === 0) return { error: message };
      return {
        error: `${message} (deletion is partial: ${deleted} backend(s) had already deleted their part)`,
      };
    }
    deleted++;
    for (const key of Object.keys(
      (result as { filesUpdate?: Record<string, FileData | null> | null }).filesUpdate ?? {},
    )) {
      filesUpdate[outerPath(leg.route, key)] = null;
    }
  }
  if (deleted === 0) return { error: firstError ?? `Error: File '${vp.path}' not found` };
  return Object.keys(filesUpdate).length > 0 ? { path: vp.path, filesUpdate } : { path: vp.path };
}

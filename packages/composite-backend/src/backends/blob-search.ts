// Key listing, glob and grep over a BlobStore for BlobBackend: list once, fetch candidates only.
import type { FileInfo, GlobResult, GrepMatch, GrepResult } from "deepagents";
import { compileGlobs, grepFileFilter, literalPrefix, relativePatterns } from "../glob.js";
import { isTextMime, mimeTypeOf } from "../mime.js";
import { baseName, comparePaths, type VirtualPath } from "../paths.js";
import type { BlobMeta, BlobStore } from "../stores/types.js";
import { decodeText, grepText } from "../text.js";
import type { ResolvedBlobOptions } from "./blob-options.js";
import { grepInOrder, matchCap } from "./skeleton.js";

export const keyOf = (vp: VirtualPath) => vp.segments.join("/");
/** Key prefix of everything under a directory path ("" for the root). */
export const dirPrefix = (vp: VirtualPath) => (vp.segments.length === 0 ? "" : `${keyOf(vp)}/`);

export function fileInfo(meta: BlobMeta): FileInfo {
  return {
    path: `/${meta.key}`,
    is_dir: false,
    size: meta.size,
    modified_at: meta.lastModified.toISOString(),
  };
}

/** Lists pages until done or `max` objects; `truncated` says whether it stopped early. */
export async function listAll(
  store: BlobStore,
  prefix: string,
  max: number,
  delimiter?: string,
): Promise<{ blobs: BlobMeta[]; prefixes: string[]; truncated: boolean }> {
  const blobs: BlobMeta[] = [];
  const prefixes: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.list(prefix, { delimiter, cursor, pageSize: Math.min(1000, max + 1) });
    // Zero-byte "folder" markers (keys ending in "/") are not files.
    blobs.push(...page.blobs.filter((blob) => !blob.key.endsWith("/")));
    prefixes.push(...page.prefixes);
    cursor = page.cursor;
    if (blobs.length + prefixes.length > max) return { blobs, prefixes, truncated: true };
  } while (cursor);
  return { blobs, prefixes, truncated: false };
}

export async function globBlobs(
  options: ResolvedBlobOptions,
  vp: VirtualPath,
  pattern: string,
): Promise<GlobResult> {
  const patterns = relativePatterns(pattern, vp.segments);
  if (patterns.length === 0) return { files: [] };
  const matches = compileGlobs(patterns);
  const base = dirPrefix(vp);
  const found = new Map<string, FileInfo>();
  let truncated = false;
  for (const relative of patterns) {
    // List only below the pattern's literal directory.
    const literal = literalPrefix(relative).base;
    const listed = await listAll(
      options.store,
      base + (literal.length ? `${literal.join("/")}/` : ""),
      options.maxScanObjects,
    );
    truncated ||= listed.truncated;
    for (const blob of listed.blobs) {
      if (matches(blob.key.slice(base.length))) found.set(blob.key, fileInfo(blob));
    }
  }
  if (found.size === 0 && vp.segments.length > 0) {
    // The search path may name a file; deepagents then matches that file's name.
    const head = await options.store.head(keyOf(vp));
    if (head && matches(baseName(vp.path))) found.set(head.key, fileInfo(head));
  }
  const files = [...found.values()].sort((a, b) => comparePaths(a.path, b.path));
  if (files.length > options.maxGlobResults)
    return { files: files.slice(0, options.maxGlobResults), truncated: true };
  return truncated ? { files, truncated } : { files };
}

export async function grepBlobs(
  options: ResolvedBlobOptions,
  vp: VirtualPath,
  pattern: string,
  glob: string | null,
  maxCount: number | null,
): Promise<GrepResult> {
  const cap = matchCap(maxCount, options.maxGrepMatches);
  const base = dirPrefix(vp);
  const accept = grepFileFilter(glob);
  const listed = await listAll(options.store, base, options.maxScanObjects);
  let truncated = listed.truncated;
  let candidates = listed.blobs.filter((blob) => {
    const relative = blob.key.slice(base.length);
    return (
      accept(relative) &&
      isTextMime(mimeTypeOf(relative)) &&
      blob.size <= options.maxGrepObjectBytes
    );
  });
  if (listed.blobs.length === 0 && vp.segments.length > 0) {
    // A file as the search path is searched alone (one GET; a miss means no matches).
    const key = keyOf(vp);
    candidates =
      accept(baseName(key)) && isTextMime(mimeTypeOf(key))
        ? [{ key, size: 0, lastModified: new Date(0), etag: "" }]
        : [];
  }
  if (candidates.length > options.maxGrepObjects) {
    candidates = candidates.slice(0, options.maxGrepObjects);
    truncated = true;
  }
  return grepInOrder(
    candidates,
    options.grepConcurrency,
    cap,
    async (blob): Promise<GrepMatch[]> => {
      const object = await options.store
        .get(blob.key, { maxBytes: options.maxGrepObjectBytes })
        .catch(() => undefined);
      return object ? grepText(`/${blob.key}`, decodeText(object.body), pattern, cap) : [];
    },
    truncated,
  );
}

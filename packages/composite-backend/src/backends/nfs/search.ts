// glob and grep for NFSBackend: bounded walks of the root that never follow links out of it.
import { basename, join } from "node:path";
import type { FileInfo, GlobResult, GrepMatch, GrepResult } from "deepagents";
import { mapLimit } from "../../async.js";
import {
  compileGlobs,
  grepFileFilter,
  literalPrefix,
  maxDepth,
  relativePatterns,
} from "../../glob.js";
import { isTextMime, mimeTypeOf } from "../../mime.js";
import { comparePaths, joinVirtual, type VirtualPath } from "../../paths.js";
import { decodeText, grepText } from "../../text.js";
import { grepInOrder, matchCap } from "../skeleton.js";
import { type Confinement, errnoOf, readWhole } from "./fs.js";
import type { ResolvedNfsOptions } from "./options.js";
import { walkFiles } from "./walk.js";

/**
 * The search path's own status: missing (no results, as in StateBackend), a file (searched
 * alone) or a directory. A path leading outside the root is an error, not an empty result.
 */
async function searchRoot(_options: ResolvedNfsOptions, jail: Confinement, vp: VirtualPath) {
  const host = await jail.hostPath(vp.segments);
  try {
    return { host, stat: await jail.io.stat(await jail.realInside(host, vp.path)) };
  } catch (error) {
    if (errnoOf(error) === "ENOENT" || errnoOf(error) === "ENOTDIR")
      return { host, stat: undefined };
    throw error;
  }
}

export async function globFiles(
  options: ResolvedNfsOptions,
  jail: Confinement,
  vp: VirtualPath,
  pattern: string,
): Promise<GlobResult> {
  const patterns = relativePatterns(pattern, vp.segments);
  if (patterns.length === 0) return { files: [] };
  const matches = compileGlobs(patterns);
  const { host, stat } = await searchRoot(options, jail, vp);
  if (!stat) return { files: [] };
  if (stat.isFile()) {
    // A file as the search path: its name is matched, as deepagents' StateBackend does.
    if (!matches(basename(vp.path))) return { files: [] };
    return {
      files: [
        { path: vp.path, is_dir: false, size: stat.size, modified_at: stat.mtime.toISOString() },
      ],
    };
  }
  const found = new Map<string, string>();
  let truncated = false;
  for (const relative of patterns) {
    // Walk only below the pattern's literal directory, and no deeper than it can match.
    const { base, rest } = literalPrefix(relative);
    const walkHost = join(host, ...base);
    if (base.length > 0 && !(await jail.realInside(walkHost, vp.path).catch(() => undefined)))
      continue;
    const walk = await walkFiles(jail.io, walkHost, base.join("/"), {
      maxDepth: maxDepth(rest),
      maxEntries: options.maxWalkEntries,
      maxFiles: options.maxGlobResults - found.size,
      accept: matches,
    });
    for (const file of walk.files) found.set(file.relative, file.host);
    truncated ||= walk.truncated;
    if (found.size >= options.maxGlobResults) break;
  }
  const infos = await mapLimit([...found], 32, async ([relative, fileHost]) => {
    const fileStat = await jail.io.lstat(fileHost).catch(() => undefined);
    if (!fileStat?.isFile()) return undefined;
    const info: FileInfo = {
      path: joinVirtual(vp.path, relative),
      is_dir: false,
      size: fileStat.size,
      modified_at: fileStat.mtime.toISOString(),
    };
    return info;
  });
  const files = infos.filter((info): info is FileInfo => info !== undefined);
  files.sort((a, b) => comparePaths(a.path, b.path));
  return truncated ? { files, truncated } : { files };
}

export async function grepFiles(
  options: ResolvedNfsOptions,
  jail: Confinement,
  vp: VirtualPath,
  pattern: string,
  glob: string | null,
  maxCount: number | null,
): Promise<GrepResult> {
  const cap = matchCap(maxCount, options.maxGrepMatches);
  const { host, stat } = await searchRoot(options, jail, vp);
  if (!stat) return { matches: [] };
  const accept = grepFileFilter(glob);
  const wanted = (relative: string) => accept(relative) && isTextMime(mimeTypeOf(relative));
  let files: Array<{ vpath: string; host: string }>;
  let truncated = false;
  if (stat.isFile()) {
    files = wanted(basename(vp.path)) ? [{ vpath: vp.path, host }] : [];
  } else {
    const walk = await walkFiles(jail.io, host, "", {
      maxDepth: Number.POSITIVE_INFINITY,
      maxEntries: options.maxWalkEntries,
      maxFiles: options.maxGrepFiles,
      accept: wanted,
    });
    truncated = walk.truncated;
    files = walk.files.map((file) => ({
      vpath: joinVirtual(vp.path, file.relative),
      host: file.host,
    }));
  }
  // Files are read concurrently but merged in path order, and reading stops at the cap.
  return grepInOrder(
    files,
    options.grepConcurrency,
    cap,
    (file) => grepOne(options, jail, file.host, file.vpath, pattern, cap),
    truncated,
  );
}

async function grepOne(
  options: ResolvedNfsOptions,
  jail: Confinement,
  host: string,
  vpath: string,
  pattern: string,
  cap: number,
): Promise<GrepMatch[]> {
  const { io } = jail;
  try {
    const opened = await jail.openFile(host, vpath);
    let bytes: Uint8Array | undefined;
    try {
      if (opened.stat.size <= options.maxGrepFileBytes) {
        bytes = await readWhole(io, opened, vpath, options.maxGrepFileBytes);
      }
    } catch (error) {
      await io.close(opened.fd);
      throw error;
    }
    // The descriptor closes while the text is searched.
    const closing = io.close(opened.fd).catch(() => undefined);
    const matches = bytes ? grepText(vpath, decodeText(bytes), pattern, cap) : [];
    await closing;
    return matches;
  } catch {
    return []; // unreadable or vanished mid-search: skipped, as grep -s would
  }
}

// Bounded directory walks (for glob and grep) and line streaming of big files for NFSBackend.
import type { Dirent } from "node:fs";
import { join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { comparePaths } from "../../paths.js";
import { INTERNAL_SUFFIX } from "./fs.js";
import type { NfsIo } from "./io.js";

export interface WalkedFile {
  /** Path relative to the walk's reference directory, with forward slashes. */
  relative: string;
  host: string;
}

export interface WalkLimits {
  maxDepth: number;
  maxEntries: number;
  maxFiles: number;
  accept: (relative: string) => boolean;
}

/**
 * Depth-first walk in sorted order (so results and truncation are deterministic). Symbolic
 * links are not followed: a link could lead out of the root or into a cycle.
 */
export async function walkFiles(
  io: NfsIo,
  hostBase: string,
  relativeBase: string,
  limits: WalkLimits,
): Promise<{ files: WalkedFile[]; truncated: boolean }> {
  const files: WalkedFile[] = [];
  let visited = 0;
  const stack: Array<{ host: string; relative: string; depth: number }> = [
    { host: hostBase, relative: relativeBase, depth: 0 },
  ];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    let entries: Dirent[];
    try {
      entries = await io.readdirTyped(dir.host);
    } catch {
      continue; // vanished or unreadable mid-walk: skip it, as find(1) would
    }
    entries.sort((a, b) => comparePaths(b.name, a.name)); // reversed: the stack pops in order
    const subdirs: typeof stack = [];
    const here: WalkedFile[] = [];
    for (const entry of entries) {
      if (++visited > limits.maxEntries) return finish([...files, ...here.reverse()], true);
      if (INTERNAL_SUFFIX.test(entry.name)) continue;
      const relative = dir.relative === "" ? entry.name : `${dir.relative}/${entry.name}`;
      const host = join(dir.host, entry.name);
      if (entry.isDirectory()) {
        if (dir.depth + 1 < limits.maxDepth) subdirs.push({ host, relative, depth: dir.depth + 1 });
      } else if (entry.isFile() && limits.accept(relative)) {
        here.push({ relative, host });
      }
    }
    // Files of a directory come before its subdirectories, each group in name order.
    for (const file of here.reverse()) {
      files.push(file);
      if (files.length >= limits.maxFiles) return finish(files, true);
    }
    stack.push(...subdirs);
  }
  return finish(files, false);
}

function finish(
  files: WalkedFile[],
  truncated: boolean,
): { files: WalkedFile[]; truncated: boolean } {
  files.sort((a, b) => comparePaths(a.relative, b.relative));
  return { files, truncated };
}

/**
 * Lines [offset, offset + limit) of a text file too big to load whole, plus its line count,
 * streamed in 64 KiB chunks. Returned text is capped at `maxChars` (a single huge line must not
 * defeat the read cap).
 */
export async function streamLines(
  io: NfsIo,
  fd: number,
  offset: number,
  limit: number,
  maxChars: number,
): Promise<{ selected: string[]; totalLines: number; clipped: boolean }> {
  const decoder = new StringDecoder("utf8");
  const selected: string[] = [];
  let carry = "";
  let index = 0;
  let chars = 0;
  let clipped = false;
  const take = (line: string) => {
    if (index >= offset && index < offset + limit && !clipped) {
      const room = maxChars - chars;
      if (line.length > room) clipped = true;
      const kept = line.length > room ? line.slice(0, Math.max(room, 0)) : line;
      selected.push(kept);
      chars += kept.length + 1;
    }
    index++;
  };
  const buffer = Buffer.allocUnsafe(64 * 1024);
  for (let position = 0; ; ) {
    const bytesRead = await io.read(fd, buffer, 0, buffer.length, position);
    if (bytesRead === 0) break;
    position += bytesRead;
    const text = carry + decoder.write(buffer.subarray(0, bytesRead));
    const pieces = text.split("\n");
    carry = pieces.pop()!;
    for (const piece of pieces) take(piece);
  }
  carry += decoder.end();
  // Like split("\n"): a final newline ends the last line rather than starting an empty one.
  if (carry !== "") take(carry);
  return { selected, totalLines: index, clipped };
}

// The pre-migrated embedded data directory that the build (scripts/make-template.mjs) dumps into
// dist/: a new data directory is unpacked from it instead of running initdb and the migrations.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";

/** The installed PGlite's version (its package.json is not exported, so found beside its entry). */
export function pgliteVersion(): string | undefined {
  let dir = dirname(createRequire(import.meta.url).resolve("@electric-sql/pglite"));
  for (let i = 0; i < 5; i += 1) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
      if (pkg.name === "@electric-sql/pglite") return pkg.version as string;
    } catch {
      // not here: one level up
    }
    dir = dirname(dir);
  }
  return undefined;
}

/** The template's tarball, if the build made one with the PGlite version installed here. */
function templatePath(): string | undefined {
  try {
    // From src/ (tests, source condition) and from dist/ alike this is the package's dist/.
    const dist = fileURLToPath(new URL("../dist/", import.meta.url));
    const meta = JSON.parse(readFileSync(join(dist, "embedded-template.json"), "utf8"));
    if (!meta.pglite || meta.pglite !== pgliteVersion()) return undefined;
    return join(dist, "embedded-template.tgz");
  } catch {
    return undefined;
  }
}

/** The template (for PGlite's `loadDataDir`), if the build made one; else undefined. */
export function embeddedTemplate(): Blob | undefined {
  const path = templatePath();
  try {
    return path ? new Blob([readFileSync(path)]) : undefined;
  } catch {
    return undefined;
  }
}

/** One entry of the template's tarball: a directory, or a file and its bytes. */
type TarEntry = { path: string; mode: number; data?: Uint8Array };

/**
 * Unpacks the template into the (new, locked) data directory `dir` with plain file writes; false,
 * having written nothing, when there is no usable template. PGlite's own `loadDataDir` does the
 * same through Emscripten's file system, five or so system calls per file for ~1,000 files:
 * seconds on a busy disk instead of a fraction of one. PG_VERSION, which marks a data directory
 * as existing, is written last, so an unpack cut short is redone by the next open.
 */
export function unpackEmbeddedTemplate(dir: string): boolean {
  const path = templatePath();
  let entries: TarEntry[] | undefined;
  try {
    entries = path ? readTar(gunzipSync(readFileSync(path))) : undefined;
  } catch {
    entries = undefined;
  }
  if (!entries) return false;
  const made = new Set<string>();
  const mkdir = (target: string, mode?: number) => {
    if (made.has(target)) return;
    mkdirSync(target, { recursive: true, mode });
    made.add(target);
  };
  const marker = entries.filter((e) => e.path === "PG_VERSION");
  for (const entry of [...entries.filter((e) => e.path !== "PG_VERSION"), ...marker]) {
    const target = join(dir, entry.path);
    if (!entry.data) {
      mkdir(target, entry.mode);
      continue;
    }
    mkdir(dirname(target));
    writeFileSync(target, entry.data, { mode: entry.mode });
  }
  return true;
}

/**
 * The entries of the tarball PGlite's dumpDataDir writes (ustar headers, names under 100 bytes;
 * it puts timestamps where ustar has its name prefix), or undefined if it holds anything else,
 * and then the caller lets PGlite load the template itself.
 */
function readTar(tar: Buffer): TarEntry[] | undefined {
  const field = (from: number, length: number) =>
    tar.toString("utf8", from, from + length).replace(/\0.*$/s, "");
  const entries: TarEntry[] = [];
  for (let at = 0; at + 512 <= tar.length && tar[at] !== 0; ) {
    const name = field(at, 100);
    const mode = Number.parseInt(field(at + 100, 8).trim(), 8);
    const size = Number.parseInt(field(at + 124, 12).trim(), 8);
    const type = field(at + 156, 1) || "0";
    const path = name.replace(/^\/+|\/+$/g, "");
    at += 512;
    if (name.length >= 100 || !(size >= 0) || !(mode >= 0) || at + size > tar.length)
      return undefined;
    if (path.split("/").some((part) => part === "" || part === "." || part === "..")) {
      if (!(type === "5" && path === "")) return undefined; // only the root may have no name
    } else if (type === "5") {
      entries.push({ path, mode });
    } else if (type === "0") {
      entries.push({ path, mode, data: tar.subarray(at, at + size) });
    } else {
      return undefined;
    }
    at += Math.ceil(size / 512) * 512;
  }
  return entries.some((e) => e.path === "PG_VERSION" && e.data) ? entries : undefined;
}

// The pre-migrated embedded data directory that the build (scripts/make-template.mjs) dumps into
// dist/: a new data directory is unpacked from it instead of running initdb and the migrations.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

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

/** The template, if the build made one with the PGlite version installed here; else undefined. */
export function embeddedTemplate(): Blob | undefined {
  try {
    // From src/ (tests, source condition) and from dist/ alike this is the package's dist/.
    const dist = fileURLToPath(new URL("../dist/", import.meta.url));
    const meta = JSON.parse(readFileSync(join(dist, "embedded-template.json"), "utf8"));
    if (!meta.pglite || meta.pglite !== pgliteVersion()) return undefined;
    return new Blob([readFileSync(join(dist, "embedded-template.tgz"))]);
  } catch {
    return undefined;
  }
}

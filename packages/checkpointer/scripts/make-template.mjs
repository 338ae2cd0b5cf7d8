// Build step: a fresh embedded data directory with every migration applied, dumped as a gzip
// tarball into dist/. getCheckpointer() unpacks it for a new data directory instead of running
// initdb and the migrations in WASM (seconds → well under a second of the start-up cost).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const dist = fileURLToPath(new URL("../dist/", import.meta.url));
const { PGlite } = await import("@electric-sql/pglite");
const { PostgresCheckpointer, latestVersion, tablesFor } = await import(join(dist, "index.js"));
const { pgliteVersion } = await import(join(dist, "template.js"));
const pglite = pgliteVersion();
// Postgres' 128MB default costs every start ~0.2 s (Emscripten zeroes all of shared memory in
// WASM) and ~100 MB of resident memory, for nothing measurable in a one-connection checkpoint
// store whose evicted pages stay in the OS page cache. Set with ALTER SYSTEM, so a user can change
// or RESET it like any Postgres setting.
const sharedBuffers = "16MB";
const meta = {
  pglite,
  schema: "public",
  version: latestVersion(tablesFor("public")),
  sharedBuffers,
};
const metaPath = join(dist, "embedded-template.json");
const tarPath = join(dist, "embedded-template.tgz");
if (existsSync(tarPath) && existsSync(metaPath)) {
  const old = JSON.parse(readFileSync(metaPath, "utf8"));
  if (JSON.stringify(old) === JSON.stringify(meta)) process.exit(0);
}
const dir = mkdtempSync(join(tmpdir(), "agentstate-template-"));
try {
  const db = await PGlite.create(dir);
  const saver = new PostgresCheckpointer(db, undefined, { endPool: false });
  await saver.setup();
  await db.exec(`ALTER SYSTEM SET shared_buffers = '${sharedBuffers}'`);
  const dump = await db.dumpDataDir("gzip");
  writeFileSync(tarPath, Buffer.from(await dump.arrayBuffer()));
  writeFileSync(metaPath, `${JSON.stringify(meta)}\n`);
  await db.close();
  console.log(`embedded template: ${tarPath} (PGlite ${pglite}, schema v${meta.version})`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { CompositeBackend, NFSBackend } from "../src/index.js";
import { describeConformance } from "./conformance.js";
import { stateBackendWithoutGraph } from "./helpers/state.js";

const tempDirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "agentstate-nfs-"));
  tempDirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describeConformance("StateBackend (deepagents, the reference)", {
  setup: async () => ({ backend: stateBackendWithoutGraph(), base: "/" }),
  validatesPaths: false,
  absoluteGlobs: false,
});

describeConformance("NFSBackend on a temp dir", {
  setup: async () => ({ backend: new NFSBackend({ rootDir: await tempDir() }), base: "/" }),
  validatesPaths: true,
  absoluteGlobs: true,
});

describeConformance("CompositeBackend: NFS route /projects/ over a state default", {
  setup: async () => ({
    backend: new CompositeBackend(stateBackendWithoutGraph(), {
      "/projects/": new NFSBackend({ rootDir: await tempDir() }),
      "/projects/archive/": new NFSBackend({ rootDir: await tempDir() }),
    }),
    base: "/projects/",
  }),
  validatesPaths: true,
  absoluteGlobs: true,
});

describeConformance("CompositeBackend: state default with routes mounted elsewhere", {
  setup: async () => ({
    backend: new CompositeBackend(stateBackendWithoutGraph(), {
      "/mnt/": new NFSBackend({ rootDir: await tempDir() }),
    }),
    base: "/scratch/",
  }),
  validatesPaths: true,
  absoluteGlobs: true,
});

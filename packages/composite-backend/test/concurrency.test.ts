import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type AzuriteServer, startAzurite } from "@agentstate/test-support/blob-servers";
import type { BackendProtocolV2 } from "deepagents";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AzureBlobStore, BlobBackend, type BlobStore, NFSBackend } from "../src/index.js";
import { faultyFs } from "./helpers/faulty-fs.js";

const here = dirname(fileURLToPath(import.meta.url));
const CONFLICT = /changed by someone else while this edit was in progress/;
let root: string;
let azurite: AzuriteServer;

beforeAll(async () => {
  [root, azurite] = await Promise.all([
    mkdtemp(join(tmpdir(), "agentstate-race-")),
    startAzurite(),
  ]);
});
afterAll(async () => {
  await Promise.all([rm(root, { recursive: true, force: true }), azurite?.stop()]);
});

/**
 * Several writers (separate backend instances, so nothing is shared in memory) each flip their
 * own slot of one file at the same moment. Every edit must either land or report a conflict;
 * an edit that reports success but whose change is missing afterwards is a lost update.
 */
async function raceSlots(
  backends: BackendProtocolV2[],
  path: string,
  read: () => Promise<string>,
  rounds: number,
) {
  const slots = backends.map((_, i) => `slot${i}`);
  await backends[0]!.write(path, `${slots.map((slot) => `${slot}=0`).join("\n")}\n`);
  let conflicts = 0;
  for (let round = 0; round < rounds; round++) {
    const results = await Promise.all(
      backends.map((backend, i) =>
        backend.edit(path, `${slots[i]}=${round}\n`, `${slots[i]}=${round + 1}\n`),
      ),
    );
    const content = await read();
    const landed: number[] = [];
    results.forEach((result, i) => {
      if (result.error) {
        expect(result.error).toMatch(CONFLICT);
        conflicts++;
        // A refused edit wrote nothing; bring the slot forward so the next round can run.
        expect(content).toContain(`${slots[i]}=${round}\n`);
      } else {
        expect(content).toContain(`${slots[i]}=${round + 1}\n`);
        landed.push(i);
      }
    });
    expect(landed.length).toBeGreaterThan(0);
    for (let i = 0; i < backends.length; i++) {
      if (!landed.includes(i)) {
        for (;;) {
          const retry = await backends[i]!.edit(
            path,
            `${slots[i]}=${round}\n`,
            `${slots[i]}=${round + 1}\n`,
          );
          if (!retry.error) break;
          expect(retry.error).toMatch(CONFLICT);
        }
      }
    }
  }
  expect(await read()).toBe(`${slots.map((slot) => `${slot}=${rounds}`).join("\n")}\n`);
  return conflicts;
}

describe("two agents editing one file on NFS", () => {
  it("refuses an edit whose file changed between its read and its commit", async () => {
    await writeFile(join(root, "plan.md"), "step: draft\n");
    const backend = new NFSBackend({
      rootDir: root,
      // Another agent rewrites the file right when this edit takes its write lock.
      fs: faultyFs({
        onLink: async (path) => {
          if (path.endsWith("plan.md.agentstate-lock"))
            await writeFile(join(root, "plan.md"), "step: review (other agent)\n");
        },
      }),
    });
    const result = await backend.edit("/plan.md", "draft", "final");
    expect(result.error).toMatch(CONFLICT);
    expect(await readFile(join(root, "plan.md"), "utf8")).toBe("step: review (other agent)\n");
  });

  it("never loses an update when several instances edit at once", async () => {
    const backends = Array.from({ length: 6 }, () => new NFSBackend({ rootDir: root }));
    const conflicts = await raceSlots(
      backends,
      "/slots.txt",
      () => readFile(join(root, "slots.txt"), "utf8"),
      15,
    );
    expect(conflicts).toBeGreaterThan(0);
  });

  it("never loses an update when separate processes edit at once", async () => {
    await writeFile(join(root, "shared.txt"), "END");
    const runWorker = (name: string) =>
      new Promise<{ conflicts: number }>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          ["--import", "tsx", join(here, "helpers/workers/edit-worker.ts"), root, name, "25"],
          { cwd: join(here, ".."), stdio: ["ignore", "pipe", "inherit"] },
        );
        let output = "";
        child.stdout.on("data", (chunk) => {
          output += chunk;
        });
        child.once("exit", (code) =>
          code === 0
            ? resolve(JSON.parse(output))
            : reject(new Error(`worker ${name} exited ${code}`)),
        );
      });
    await Promise.all([runWorker("a"), runWorker("b"), runWorker("c")]);
    const lines = (await readFile(join(root, "shared.txt"), "utf8")).split("\n");
    expect(lines.at(-1)).toBe("END");
    for (const name of ["a", "b", "c"]) {
      // Each worker's own edits stay in its order; all 75 are present.
      expect(lines.filter((line) => line.startsWith(`${name}-`))).toEqual(
        Array.from({ length: 25 }, (_, i) => `${name}-${i}`),
      );
    }
  });
});

describe("two agents editing one object on Azure Blob Storage (Azurite enforces If-Match)", () => {
  it("refuses an edit whose object changed between its GET and its conditional PUT", async () => {
    const container = await azurite.container("conflicts");
    const real = new AzureBlobStore({ containerClient: container });
    // Another writer replaces the object just after this edit has read it.
    const racing: BlobStore = {
      ...real,
      list: real.list.bind(real),
      head: real.head.bind(real),
      put: real.put.bind(real),
      delete: real.delete.bind(real),
      signedUrl: real.signedUrl.bind(real),
      async get(key, options) {
        const object = await real.get(key, options);
        await container.getBlockBlobClient(key).upload("status: taken by other agent\n", 29);
        return object;
      },
    };
    const writer = new BlobBackend({ store: real });
    await writer.write("/ticket.md", "status: open\n");
    const result = await new BlobBackend({ store: racing }).edit("/ticket.md", "open", "closed");
    expect(result.error).toMatch(CONFLICT);
    expect((await writer.read("/ticket.md")).content).toBe("status: taken by other agent\n");
  });

  it("never loses an update when several instances edit at once", async () => {
    const container = await azurite.container("races");
    const backends = Array.from(
      { length: 5 },
      () => new BlobBackend({ store: new AzureBlobStore({ containerClient: container }) }),
    );
    const conflicts = await raceSlots(
      backends,
      "/slots.txt",
      async () => (await container.getBlobClient("slots.txt").downloadToBuffer()).toString(),
      10,
    );
    // Concurrent GET-then-PUT from five writers collide; the collisions are what If-Match caught.
    expect(conflicts).toBeGreaterThan(0);
  });
});

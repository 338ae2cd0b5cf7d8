// A new embedded data directory is unpacked from the migrated template the build makes (no
// initdb in WASM); it is a normal, writable database at the latest schema version.
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getCheckpointer, getSchemaStatus } from "../src/index.js";
import { embeddedTemplate, pgliteVersion } from "../src/template.js";

const template = embeddedTemplate();
// CI builds before testing, so the template must be there; locally a bare `vitest` may run unbuilt.
const required = process.env.CI === "true";

describe("the embedded template", () => {
  it("exists after the build and matches the installed PGlite", () => {
    expect(pgliteVersion()).toMatch(/^\d+\.\d+\.\d+/);
    if (required) expect(template, "run `pnpm build` first").toBeInstanceOf(Blob);
  });

  it.runIf(template)("a fresh data directory starts from it, migrated and writable", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "agentstate-template-")), "pgdata");
    const saver = await getCheckpointer({ dataDir: dir });
    try {
      expect(existsSync(join(dir, "PG_VERSION"))).toBe(true);
      const status = await getSchemaStatus(saver);
      expect(status.pending).toEqual([]);
      expect(await saver.getTuple({ configurable: { thread_id: "t" } })).toBeUndefined();
      const [row] = await saver.run<{ n: number }>(
        "test",
        `SELECT count(*)::int AS n FROM ${saver.tables.checkpoints}`,
      );
      expect(row?.n).toBe(0);
      await saver.put(
        { configurable: { thread_id: "t", checkpoint_ns: "" } },
        {
          v: 4,
          id: "1f000000-0000-6000-8000-000000000001",
          ts: new Date().toISOString(),
          channel_values: { a: 1 },
          channel_versions: { a: 1 },
          versions_seen: {},
        },
        { source: "input", step: -1, parents: {} },
        { a: 1 },
      );
    } finally {
      await saver.end();
    }
    const reopened = await getCheckpointer({ dataDir: dir });
    try {
      const tuple = await reopened.getTuple({ configurable: { thread_id: "t" } });
      expect(tuple?.checkpoint.channel_values).toEqual({ a: 1 });
    } finally {
      await reopened.end();
    }
  });
});

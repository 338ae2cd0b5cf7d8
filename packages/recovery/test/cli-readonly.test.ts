// Read means read: the CLI's reporting commands never create a schema, a table, a data directory
// or a row; only `setup` migrates; --json errors are JSON; doctor can fail.
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { DATABASE_URL, postgresReachable, runCli, uniqueSchema } from "./helpers.js";

const up = await postgresReachable();

describe("agentstate CLI with no database named", () => {
  it("refuses (exit 1) instead of creating an embedded database in the current directory", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "agentstate-cli-"));
    for (const command of ["stats", "threads", "stuck", "doctor"]) {
      const r = await runCli(
        [command, "--json"],
        { DATABASE_URL: "", AGENTSTATE_DATA_DIR: "" },
        cwd,
      );
      expect(r.code, r.output).toBe(1);
      if (command !== "doctor") {
        expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: "NO_DATABASE" } });
      }
    }
    expect(readdirSync(cwd)).toEqual([]);
  });

  it("reads an embedded database only where one exists; setup creates it", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "agentstate-cli-")), "pgdata");
    const stats = await runCli(["--data-dir", dir, "stats"], { DATABASE_URL: "" });
    expect(stats.code).toBe(1);
    expect(stats.output).toContain("agentstate setup");
    expect(existsSync(dir)).toBe(false);
    const setup = await runCli(["--data-dir", dir, "setup"], { DATABASE_URL: "" });
    expect(setup.code, setup.output).toBe(0);
    // A new data directory starts from the build's migrated template: setup applies what is left.
    expect(setup.stdout).toMatch(/applied v\d+–v\d+|up to date/);
    const again = await runCli(["--data-dir", dir, "stats", "--json"], { DATABASE_URL: "" });
    expect(again.code, again.output).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ totalCheckpoints: 0 });
  });

  it("prints --version, and usage errors as JSON with --json", async () => {
    const v = await runCli(["--version"]);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const usage = await runCli(["stuck", "--limit", "many", "--json"]);
    expect(usage.code).toBe(64);
    expect(JSON.parse(usage.stdout)).toMatchObject({ error: { code: "USAGE" } });
  });
});

describe.skipIf(!up)("agentstate CLI on a schema that is not set up", () => {
  const schema = uniqueSchema("ro");
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
  const schemaExists = async () =>
    (await pool.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema])).rowCount === 1;
  const cli = (...args: string[]) => runCli(["--schema", schema, ...args]);

  afterAll(async () => {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  });

  it("stats, threads, stuck, prune --dry-run and recover --dry-run refuse and create nothing", async () => {
    for (const args of [
      ["stats"],
      ["threads"],
      ["stuck"],
      ["prune", "--keep-latest", "1", "--dry-run"],
      ["prune", "--keep-latest", "1"],
      ["recover", "--all", "--dry-run", "--graph", "x.ts:graph"],
    ]) {
      const r = await cli(...args, "--json");
      expect(r.code, `${args.join(" ")}: ${r.output}`).toBe(1);
      const { error } = JSON.parse(r.stdout);
      expect(error.code).toBe("NOT_SET_UP");
      expect(error.message).toContain(`schema "${schema}"`);
      expect(error.message).toContain("agentstate setup");
    }
    expect(await schemaExists()).toBe(false);
  });

  it("doctor reports the missing tables as a failed check (exit 1) and creates nothing", async () => {
    const r = await cli("doctor", "--json");
    expect(r.code).toBe(1);
    const { checks } = JSON.parse(r.stdout);
    expect(checks).toContainEqual(expect.objectContaining({ check: "connection", status: "ok" }));
    expect(checks).toContainEqual(expect.objectContaining({ check: "migrations", status: "fail" }));
    expect(await schemaExists()).toBe(false);
  });

  it("setup --print-sql prints the pending SQL and applies none of it; setup applies it", async () => {
    const printed = await cli("setup", "--print-sql");
    expect(printed.code).toBe(0);
    expect(printed.stdout).toContain(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    expect(printed.stdout).toMatch(/^BEGIN;/);
    expect(await schemaExists()).toBe(false);
    const setup = await cli("setup", "--json");
    expect(setup.code, setup.output).toBe(0);
    expect(JSON.parse(setup.stdout).applied.length).toBeGreaterThan(10);
    const doctor = await cli("doctor", "--json");
    expect(JSON.parse(doctor.stdout).checks).toContainEqual(
      expect.objectContaining({ check: "migrations", status: "ok" }),
    );
    // An outdated schema is refused the same way: drop the newest migration's row.
    await pool.query(
      `DELETE FROM "${schema}".checkpoint_migrations WHERE v = (SELECT max(v) FROM "${schema}".checkpoint_migrations)`,
    );
    const outdated = await cli("stats", "--json");
    expect(outdated.code).toBe(1);
    expect(JSON.parse(outdated.stdout).error.message).toMatch(
      /at version \d+, this agentstate needs \d+/,
    );
  });

  it("doctor prints its table when the server cannot be reached (exit 1)", async () => {
    const r = await runCli(["--database-url", "postgres://u:secret@127.0.0.1:1/db", "doctor"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/connection\s+FAIL/);
    expect(r.output).not.toContain("secret");
  });
});

// The README's migrations table ("Storage layout and compatibility") has one row per entry of
// the migration list, in order: the same version and the same name.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { tablesFor } from "../src/sql/identifiers.js";
import { migrations } from "../src/sql/migrations.js";

it("the README migrations table lists every migration once, by version and name", () => {
  const readme = readFileSync(resolve(import.meta.dirname, "../README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Storage layout and compatibility"));
  const start = section.indexOf("\n| v ");
  const table = section.slice(start, section.indexOf("\n\n", start));
  expect(table).toMatch(/^\n\| v\s+\| name\s+\|/);
  const rows = table
    .split("\n")
    .map((line) => /^\|\s*(\d+)\s*\|\s*`([^`]*)`\s*\|/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ version: Number(m[1]), name: m[2] }));
  const all = migrations(tablesFor("public"));
  expect(all.length).toBeGreaterThanOrEqual(19);
  expect(rows).toEqual(all.map(({ version, name }) => ({ version, name })));
});

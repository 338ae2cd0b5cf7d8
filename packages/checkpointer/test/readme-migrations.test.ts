import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { tablesFor } from "../src/sql/identifiers.js";
import { latestVersion } from "../src/sql/migrate.js";

// The README's migrations table ("Storage layout and compatibility") has one row per migration
// the code runs: v0 up to the latest, each once, in order.
it("the README migrations table lists every migration version once", () => {
  const readme = readFileSync(resolve(import.meta.dirname, "../README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Storage layout and compatibility"));
  const table = section.slice(
    section.indexOf("\n| v "),
    section.indexOf("\n\n", section.indexOf("\n| v ")),
  );
  const versions = table
    .split("\n")
    .map((line) => /^\|\s*(\d+)\s*\|/.exec(line)?.[1])
    .filter((v): v is string => v !== undefined)
    .map(Number);
  const latest = latestVersion(tablesFor("public"));
  expect(latest).toBeGreaterThanOrEqual(17);
  expect(versions).toEqual(Array.from({ length: latest + 1 }, (_, i) => i));
});

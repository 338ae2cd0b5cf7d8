// The migration list's invariants: versions dense from 0, names unique, and every released
// migration's SQL unchanged (a fingerprint per version), so nobody renumbers or edits a shipped
// migration — databases that applied it would never see the change.
import { createHash } from "node:crypto";
import { pendingMigrationSql } from "../src/ops/schema.js";
import type { DbSeam } from "../src/seam.js";
import { tablesFor } from "../src/sql/identifiers.js";
import { latestVersion } from "../src/sql/migrate.js";
import { type Migration, migrations } from "../src/sql/migrations.js";

/**
 * sha256 of JSON.stringify(sql) for schema "public", per released version. Append the new
 * version's fingerprint when it is released; never edit a line.
 */
const RELEASED: Record<number, string> = {
  0: "79b8ba6ed192e6c58e9cf37913bdb74cbf2447b7a7f4b107515440295fbf756b",
  1: "6b6b5e85b150c7b304f19aad18be474505093b451501abe2098e4cd5d1de0541",
  2: "763725ab3624ae65d07800a1f780c637763b920de79865751bb6768f60515013",
  3: "5af1af2fe680853d1903ce5d816bdbae6a028f6081a75fceeb17792430b7d73c",
  4: "a17ca0c21dd7999d57d08c5a60ca21719e2ce1640338eea5198b53c54ad65613",
  5: "a1879c30e1b528c8300b386d30c779597cb8d3c00df303e39f8e1994c6475760",
  6: "e256de2070af8e0f2c8af406bc6a99054a369db891f8f5ed62f77b0947de2769",
  7: "ea803cd73fcfe6200f572fe642322eba887f80efbb0ad7b9568a6135c413199b",
  8: "7dbdaf2d3f95d561bd9fcbf17b3712db882e96acafd66f95c96fe992793cfe6e",
  9: "37aee1eeb7eb70b42736115176b01e09acfdf02d0d144a50dbba6e5326216db1",
  10: "99a888746ea69f4f93b3bdc587a0dd1c8ad2b6f41b11ee9d6ed1bd042a0ccdc4",
  11: "17235ec345111fbac95502d45fd8968e85532bb73e144d016d3a31966e39affc",
  12: "92697877c53747d1c6309a400855bf6fc75aeae128a656e8240c6f36ae39eaff",
  13: "d6bd2c83a80b69d9cc9e3cf6054c24e8516d58ec08e62b02611794fa72ee1867",
  14: "9b3986483d3f13117c04e640fff78b4a8cd0a4bcc724ba1afb24191e64bbc885",
  15: "9c8e34ee61337ab0fa25888d276ea40be2c84ba463ef25442d73dddc6aac84fe",
  16: "d4338f93792ba76b0b15e1758dd4e9e4548679525fee03b6d113bd8fbbc0e365",
  17: "c03e93fab05cb34f8f851a3433098e21859df2f787ed13882073d1764227c590",
  18: "6ff9e591b722dd2120d9994981c5c827fc57cf9a6e5ed2778bb70e4ebd2c1dd1",
};

const fingerprint = (m: Migration) =>
  createHash("sha256").update(JSON.stringify(m.sql)).digest("hex");

const all = migrations(tablesFor("public"));

it("versions are dense from 0: no gaps, no duplicates, in order", () => {
  expect(all.map((m) => m.version)).toEqual(all.map((_, i) => i));
  expect(latestVersion(tablesFor("public"))).toBe(all.length - 1);
});

it("names are unique, kebab-case, and every migration has SQL", () => {
  const names = all.map((m) => m.name);
  expect(new Set(names).size).toBe(names.length);
  for (const m of all) {
    expect(m.name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
    expect(m.sql.length, `v${m.version} ${m.name}`).toBeGreaterThan(0);
  }
});

it("released migrations keep their SQL (fingerprints recorded above)", () => {
  const released = Object.keys(RELEASED).map(Number);
  expect(released).toEqual(released.map((_, i) => i));
  expect(all.length).toBeGreaterThanOrEqual(released.length);
  for (const v of released) {
    const m = all[v];
    expect(m && fingerprint(m), `v${v} was released: add a new migration instead`).toBe(
      RELEASED[v],
    );
  }
});

it("the schema only enters the SQL through the quoted table names", () => {
  // so the fingerprints taken for "public" hold for every schema
  const other = migrations(tablesFor('we"ird'));
  for (const [i, m] of all.entries()) {
    const quoted = other[i]?.sql.map((s) => s.replaceAll('"we""ird"', '"public"'));
    expect(quoted, `v${m.version}`).toEqual(m.sql);
  }
});

it("pendingMigrationSql heads each migration with its version and name", () => {
  const db = { schema: "public", tables: tablesFor("public") } as DbSeam;
  const last = all[all.length - 1] as Migration;
  const sql = pendingMigrationSql(db, last.version - 1);
  const comments = sql.split("\n").filter((l) => l.startsWith("-- "));
  expect(comments).toEqual(all.slice(-2).map((m) => `-- v${m.version}: ${m.name}`));
  expect(sql).toMatch(/^BEGIN;\n/);
  expect(sql).toMatch(/\nCOMMIT;\n$/);
  expect(pendingMigrationSql(db, last.version + 1)).toBe("");
});

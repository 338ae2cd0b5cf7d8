// Every row of one thread as text (export), removed only if unchanged (delete with digests), and
// put back exactly (import): the database side of archive and restore.
import type { Queryable } from "../db.js";
import { quoteIdentifier, type Tables } from "../sql/identifiers.js";

/** The tables a thread lives in, in the order an archive stores them. */
export const THREAD_SECTIONS = [
  "checkpoints",
  "checkpoint_blobs",
  "checkpoint_writes",
  "agentstate_runs",
  "agentstate_receipts",
] as const;

export type ThreadSection = (typeof THREAD_SECTIONS)[number];

const KEY: Record<ThreadSection, keyof Tables> = {
  checkpoints: "checkpoints",
  checkpoint_blobs: "blobs",
  checkpoint_writes: "writes",
  agentstate_runs: "runs",
  agentstate_receipts: "receipts",
};

/** The qualified table name of a section. */
export const sectionTable = (t: Tables, s: ThreadSection): string => t[KEY[s]];

/**
 * Rows travel as `to_jsonb(row)::text`: every column, whatever this schema version has, exact
 * (bytea as hex, jsonb as itself, timestamps to the microsecond, bigints as written). Sorted by
 * that text in "C" collation, so the export and the delete's digest see the same byte sequence.
 */
const rowText = (alias: string) => `to_jsonb(${alias})::text COLLATE "C"`;

export interface ThreadRows {
  /** Per section, the rows' JSON text in digest order. */
  sections: Record<ThreadSection, string[]>;
}

/** Every row of a thread in one statement (one snapshot). Writes nothing. */
export async function exportThreadRows(
  q: Queryable,
  t: Tables,
  threadId: string,
): Promise<ThreadRows> {
  const sql = THREAD_SECTIONS.map(
    (s, i) =>
      `SELECT ${i} AS s, ${rowText("x")} AS j FROM ${sectionTable(t, s)} x WHERE x.thread_id = $1`,
  ).join("\nUNION ALL ");
  const { rows } = await q.query<{ s: number; j: string }>(`${sql}\nORDER BY s, j`, [threadId]);
  const sections = Object.fromEntries(THREAD_SECTIONS.map((s) => [s, [] as string[]])) as Record<
    ThreadSection,
    string[]
  >;
  for (const r of rows) sections[THREAD_SECTIONS[Number(r.s)] as ThreadSection].push(r.j);
  return { sections };
}

/** Digest of one section: the rows' text, each followed by "\n", as UTF-8 bytes. */
export interface SectionDigest {
  rows: number;
  /** sha256 hex. */
  sha256: string;
}

/**
 * Deletes every row of a thread and returns the row count and sha256 of what each section lost,
 * computed by Postgres over exactly the deleted rows. Run it in a transaction and roll back when
 * the digests differ from the archived file's: then nothing that was not archived is ever lost.
 */
export async function deleteThreadRows(
  q: Queryable,
  t: Tables,
  threadId: string,
): Promise<Record<ThreadSection, SectionDigest>> {
  const ctes = THREAD_SECTIONS.map(
    (s, i) =>
      `d${i} AS (DELETE FROM ${sectionTable(t, s)} x WHERE x.thread_id = $1 RETURNING ${rowText("x")} AS j)`,
  ).join(",\n");
  const selects = THREAD_SECTIONS.map(
    (_s, i) =>
      `SELECT ${i} AS s, count(*)::int AS n, encode(sha256(convert_to(coalesce(string_agg(j || E'\\n', '' ORDER BY j), ''), 'UTF8')), 'hex') AS sha FROM d${i}`,
  ).join("\nUNION ALL ");
  const { rows } = await q.query<{ s: number; n: number; sha: string }>(
    `WITH ${ctes}\n${selects}`,
    [threadId],
  );
  const out = {} as Record<ThreadSection, SectionDigest>;
  for (const r of rows) {
    out[THREAD_SECTIONS[Number(r.s)] as ThreadSection] = { rows: Number(r.n), sha256: r.sha };
  }
  return out;
}

/**
 * Takes the transaction-scoped lock that archive and restore hold on one thread, so two of them
 * never work on the same thread at once (writers do not take it: they are never blocked by it).
 * With `wait: false` returns false instead of waiting when another holds it.
 */
export async function lockThreadForArchive(
  q: Queryable,
  schema: string,
  threadId: string,
  wait: boolean,
): Promise<boolean> {
  const keys = [`agentstate.archive:${schema}`, threadId];
  if (wait) {
    await q.query("SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))::text", keys);
    return true;
  }
  const { rows } = await q.query<{ ok: boolean }>(
    "SELECT pg_try_advisory_xact_lock(hashtext($1), hashtext($2)) AS ok",
    keys,
  );
  return rows[0]?.ok === true;
}

/** Whether any row of the thread exists in any of its tables. */
export async function threadExists(q: Queryable, t: Tables, threadId: string): Promise<boolean> {
  const probes = THREAD_SECTIONS.map(
    (s) => `EXISTS (SELECT 1 FROM ${sectionTable(t, s)} WHERE thread_id = $1)`,
  ).join(" OR ");
  const { rows } = await q.query<{ e: boolean }>(`SELECT (${probes}) AS e`, [threadId]);
  return Boolean(rows[0]?.e);
}

/** Column names of each section's table in this schema (catalog read). */
export async function sectionColumns(
  q: Queryable,
  t: Tables,
): Promise<Record<ThreadSection, string[]>> {
  const { rows } = await q.query<{ s: number; cols: string[] }>(
    `SELECT s, ARRAY(SELECT attname::text FROM pg_attribute WHERE attrelid = to_regclass(tbl)
       AND attnum > 0 AND NOT attisdropped ORDER BY attnum) AS cols
     FROM unnest($1::text[]) WITH ORDINALITY AS u(tbl, s)`,
    [THREAD_SECTIONS.map((s) => sectionTable(t, s))],
  );
  const out = {} as Record<ThreadSection, string[]>;
  for (const r of rows) out[THREAD_SECTIONS[Number(r.s) - 1] as ThreadSection] = r.cols ?? [];
  return out;
}

/** Statement size to aim for when importing (rows are never split). */
const IMPORT_CHUNK_BYTES = 8 * 1024 * 1024;

/**
 * Inserts rows exported by exportThreadRows, exactly as they were. `columns` are the columns the
 * rows carry (they must exist in the table; the caller checks); columns the rows lack take their
 * defaults. Plain inserts: a row that exists already fails the statement.
 */
export async function importThreadRows(
  q: Queryable,
  t: Tables,
  section: ThreadSection,
  columns: string[],
  rows: Iterable<string>,
): Promise<number> {
  const table = sectionTable(t, section);
  const cols = columns.map((c) => quoteIdentifier(c, "column name")).join(", ");
  const sql = `INSERT INTO ${table} (${cols}) SELECT ${cols} FROM jsonb_populate_recordset(NULL::${table}, $1::jsonb)`;
  let chunk: string[] = [];
  let size = 0;
  let count = 0;
  const flush = async () => {
    if (chunk.length === 0) return;
    await q.query(sql, [`[${chunk.join(",")}]`]);
    count += chunk.length;
    chunk = [];
    size = 0;
  };
  for (const row of rows) {
    chunk.push(row);
    size += row.length;
    if (size >= IMPORT_CHUNK_BYTES) await flush();
  }
  await flush();
  return count;
}

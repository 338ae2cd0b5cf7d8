// The archive file: one thread, gzip-compressed JSON lines — a self-describing header line, then
// each table's rows — with a sha256 per section and over the whole payload. Encode and verify.
import { createHash } from "node:crypto";
import { promisify } from "node:util";
import { gunzip, gzip } from "node:zlib";
import { THREAD_SECTIONS, type ThreadSection } from "@agentstate/checkpointer";
import { RecoveryError } from "../errors.js";

export const ARCHIVE_FORMAT = "agentstate-thread-archive";
/** Bumped on any change a reader of the previous version would misread. */
export const ARCHIVE_FORMAT_VERSION = 1;

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);
/** A hostile file must not inflate without bound (a gzip bomb): 4 GiB of payload at most. */
const MAX_INFLATED_BYTES = 4 * 1024 ** 3 - 1;

export interface ArchiveSection {
  /** Table name (without schema). */
  name: ThreadSection;
  rows: number;
  /** Bytes of this section in the payload (UTF-8, one row per line). */
  bytes: number;
  sha256: string;
  /** The columns the rows carry (those of the source schema). */
  columns: string[];
}

export interface ArchiveHeader {
  format: typeof ARCHIVE_FORMAT;
  formatVersion: number;
  threadId: string;
  /** Source schema name and migration version. */
  schema: string;
  schemaVersion: number;
  createdAt: string;
  /** Payload after the header line: the sections in order. */
  payload: { bytes: number; sha256: string };
  sections: ArchiveSection[];
}

export interface EncodedArchive {
  header: ArchiveHeader;
  /** The gzip file as stored. */
  body: Buffer;
  /** sha256 of `body`. */
  sha256: string;
}

export const sha256 = (data: Uint8Array | string) =>
  createHash("sha256").update(data).digest("hex");

/** Builds the file for one thread from its exported rows (text, in digest order). */
export async function encodeArchive(input: {
  threadId: string;
  schema: string;
  schemaVersion: number;
  rows: Record<ThreadSection, string[]>;
  columns: Record<ThreadSection, string[]>;
}): Promise<EncodedArchive> {
  const parts: Buffer[] = [];
  const sections: ArchiveSection[] = [];
  const whole = createHash("sha256");
  let payloadBytes = 0;
  for (const name of THREAD_SECTIONS) {
    const rows = input.rows[name];
    const text = Buffer.from(rows.length ? `${rows.join("\n")}\n` : "", "utf8");
    parts.push(text);
    whole.update(text);
    payloadBytes += text.byteLength;
    const columns = input.columns[name];
    sections.push({
      name,
      rows: rows.length,
      bytes: text.byteLength,
      sha256: sha256(text),
      columns,
    });
  }
  const header: ArchiveHeader = {
    format: ARCHIVE_FORMAT,
    formatVersion: ARCHIVE_FORMAT_VERSION,
    threadId: input.threadId,
    schema: input.schema,
    schemaVersion: input.schemaVersion,
    createdAt: new Date().toISOString(),
    payload: { bytes: payloadBytes, sha256: whole.digest("hex") },
    sections,
  };
  const body = await gzipAsync(
    Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), ...parts]),
  );
  return { header, body, sha256: sha256(body) };
}

export interface DecodedArchive {
  header: ArchiveHeader;
  /** Per section, its rows (JSON text, one per row). */
  rows: Record<ThreadSection, string[]>;
}

const corrupt = (where: string, what: string, cause?: unknown) =>
  new RecoveryError(
    "ARCHIVE_CORRUPT",
    `The archive file ${where} is damaged: ${what}. Nothing was deleted or restored. ` +
      "Restore from another copy of the file (--from <location>), or leave the thread archived.",
    { cause },
  );

/**
 * Inflates and checks a file completely: gzip integrity, header, format version, thread id, and
 * every section's row count and sha256. Throws ARCHIVE_CORRUPT or ARCHIVE_FORMAT_UNSUPPORTED;
 * returns only what passed.
 */
export async function decodeArchive(
  body: Uint8Array,
  where: string,
  expectedThreadId?: string,
): Promise<DecodedArchive> {
  let raw: Buffer;
  try {
    raw = await gunzipAsync(body, { maxOutputLength: MAX_INFLATED_BYTES });
  } catch (cause) {
    throw corrupt(where, `it does not inflate (${(cause as Error).message})`, cause);
  }
  const newline = raw.indexOf(0x0a);
  if (newline < 0) throw corrupt(where, "no header line");
  let header: ArchiveHeader;
  try {
    header = JSON.parse(raw.subarray(0, newline).toString("utf8")) as ArchiveHeader;
  } catch (cause) {
    throw corrupt(where, "the header is not JSON", cause);
  }
  if (header?.format !== ARCHIVE_FORMAT) {
    throw corrupt(
      where,
      `it is not an agentstate thread archive (format ${JSON.stringify(header?.format)})`,
    );
  }
  if (!Number.isInteger(header.formatVersion) || header.formatVersion < 1) {
    throw corrupt(where, `bad format version ${JSON.stringify(header.formatVersion)}`);
  }
  if (header.formatVersion > ARCHIVE_FORMAT_VERSION) {
    throw new RecoveryError(
      "ARCHIVE_FORMAT_UNSUPPORTED",
      `The archive file ${where} has format version ${header.formatVersion}; this @agentstate/recovery reads up to ${ARCHIVE_FORMAT_VERSION}. ` +
        "Upgrade @agentstate/recovery (and run `agentstate setup`), then restore again. Nothing was restored.",
    );
  }
  if (expectedThreadId !== undefined && header.threadId !== expectedThreadId) {
    throw corrupt(
      where,
      `it holds thread ${JSON.stringify(header.threadId)}, not ${JSON.stringify(expectedThreadId)}`,
    );
  }
  const payload = raw.subarray(newline + 1);
  if (payload.byteLength !== header.payload?.bytes || sha256(payload) !== header.payload.sha256) {
    throw corrupt(
      where,
      "the payload does not match the header's length and sha256 (truncated or altered)",
    );
  }
  const rows = Object.fromEntries(THREAD_SECTIONS.map((s) => [s, [] as string[]])) as Record<
    ThreadSection,
    string[]
  >;
  let offset = 0;
  for (const section of header.sections ?? []) {
    if (
      !(THREAD_SECTIONS as readonly string[]).includes(section?.name) ||
      !Number.isSafeInteger(section.bytes) ||
      section.bytes < 0 ||
      !Array.isArray(section.columns) ||
      !section.columns.every((c) => typeof c === "string")
    ) {
      throw corrupt(where, `bad section entry ${JSON.stringify(section).slice(0, 200)}`);
    }
    const bytes = payload.subarray(offset, offset + section.bytes);
    offset += section.bytes;
    if (bytes.byteLength !== section.bytes || sha256(bytes) !== section.sha256) {
      throw corrupt(where, `section ${section.name} fails its sha256`);
    }
    const lines = splitLines(bytes);
    if (lines === undefined) throw corrupt(where, `section ${section.name} ends mid-row`);
    if (lines.length !== section.rows) {
      throw corrupt(
        where,
        `section ${section.name} has ${lines.length} rows, the header says ${section.rows}`,
      );
    }
    rows[section.name] = lines;
  }
  if (offset !== payload.byteLength) throw corrupt(where, "bytes after the last section");
  return { header, rows };
}

/** One string per "\n"-terminated line, decoded line by line (no single giant string). */
function splitLines(bytes: Buffer): string[] | undefined {
  const lines: string[] = [];
  let start = 0;
  while (start < bytes.byteLength) {
    const end = bytes.indexOf(0x0a, start);
    if (end < 0) return undefined;
    lines.push(bytes.subarray(start, end).toString("utf8"));
    start = end + 1;
  }
  return lines;
}

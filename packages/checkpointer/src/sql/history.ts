// getDeltaChannelHistory in one statement: the ancestors' writes of the wanted channels back to
// each channel's nearest stored value (its seed), without a round trip or an index probe per step.
import type { Tables } from "./identifiers.js";

/**
 * $1 thread_id, $2 ns, $3 target checkpoint id (NULL = latest), $4 channel names.
 * Rows: one kind-0 row whose `blob` packs every write (see unpackWrites), oldest first, each
 * checkpoint's in (task_path, task_id, idx) code-point order; and a kind-1 row per seed
 * (channel, type, blob). Packing spares the driver a row per write.
 *
 * Linear history (the usual case): checkpoint ids grow along a branch, so the target's ancestors
 * are the thread's checkpoints below its parent in id order, for as long as each one's parent is
 * the next older checkpoint. One index range scan reads them (`cand`), one reads the stored
 * versions of the wanted channels (`stored`), one reads their writes: no per-step probe. When a
 * fork interleaves branches before every seed is found, the statement walks parent links instead
 * (`chain`, as before: one primary-key probe per step); only one of the two produces rows.
 */
export function deltaHistorySql(t: Tables): string {
  const seedBlob = (channel: string, version: string) => `CROSS JOIN LATERAL (
      SELECT bb.channel, bb.type, bb.blob FROM ${t.blobs} bb
      WHERE bb.thread_id = $1 AND bb.checkpoint_ns = $2 AND bb.channel = ${channel}
        AND bb.version = ${version} AND bb.type <> 'empty'
      LIMIT 1
    ) AS b`;
  return `WITH RECURSIVE target AS (
    SELECT parent_checkpoint_id FROM ${t.checkpoints}
    WHERE thread_id = $1 AND checkpoint_ns = $2 AND ($3::text IS NULL OR checkpoint_id = $3)
    ORDER BY checkpoint_id DESC LIMIT 1
  ), stored AS MATERIALIZED (
    SELECT b.channel, b.version FROM ${t.blobs} b
    WHERE b.thread_id = $1 AND b.checkpoint_ns = $2 AND b.channel = ANY ($4::text[]) AND b.type <> 'empty'
  ), head AS MATERIALIZED (
    -- the newest ancestors first: most walks end within them (a DeltaChannel snapshot is near)
    ${rows(t, "(SELECT parent_checkpoint_id FROM target)", `LIMIT ${HEAD}`)}
  ), head_done AS (
    -- the rest is read only if the head has no break, reaches no seed for some channel, and is full
    SELECT count(*) < ${HEAD}
      OR bool_or(h.parent IS DISTINCT FROM h.next AND h.next IS NOT NULL)
      OR NOT EXISTS (SELECT 1 FROM unnest($4::text[]) AS r(ch) WHERE NOT EXISTS (
        SELECT 1 FROM head x JOIN stored s ON s.channel = r.ch AND s.version = x.cv ->> r.ch)) AS done
    FROM (SELECT parent, lead(checkpoint_id) OVER (ORDER BY checkpoint_id DESC) AS next FROM head) AS h
  ), cand AS MATERIALIZED (
    SELECT x.checkpoint_id, x.cv, row_number() OVER w AS depth,
      x.parent IS NOT DISTINCT FROM lead(x.checkpoint_id) OVER w AS linked
    FROM (
      SELECT * FROM head
      UNION ALL
      ${rows(t, "(SELECT min(checkpoint_id) FROM head)", "", "<", "NOT (SELECT done FROM head_done)")}
    ) AS x
    WINDOW w AS (ORDER BY x.checkpoint_id DESC)
  ), span AS (
    -- the linear prefix: up to and including the first checkpoint whose parent is not the next row
    SELECT coalesce(min(depth) FILTER (WHERE NOT linked), count(*)) AS d,
      bool_and(linked) AS whole FROM cand
  ), lin AS MATERIALIZED (
    SELECT r.ch, (SELECT min(c.depth) FROM cand c JOIN stored s ON s.channel = r.ch
        AND s.version = c.cv ->> r.ch WHERE c.depth <= (SELECT d FROM span)) AS seed
    FROM unnest($4::text[]) AS r(ch)
  ), ok AS (
    SELECT coalesce((SELECT whole FROM span), true) OR bool_and(seed IS NOT NULL) AS linear FROM lin
  ), chain AS (
    SELECT c.checkpoint_id, c.parent_checkpoint_id, c.checkpoint -> 'channel_versions' AS cv,
      1 AS depth, $4::text[] AS wanted
    FROM target JOIN ${t.checkpoints} c
      ON c.thread_id = $1 AND c.checkpoint_ns = $2 AND c.checkpoint_id = target.parent_checkpoint_id
    WHERE NOT (SELECT linear FROM ok)
    UNION ALL
    SELECT p.checkpoint_id, p.parent_checkpoint_id, p.checkpoint -> 'channel_versions', chain.depth + 1, nxt.wanted
    FROM chain
    CROSS JOIN LATERAL (
      SELECT ARRAY(
        SELECT r FROM unnest(chain.wanted) AS r
        WHERE NOT EXISTS (SELECT 1 FROM stored s WHERE s.channel = r AND s.version = chain.cv ->> r)
      ) AS wanted
    ) AS nxt
    JOIN ${t.checkpoints} p
      ON p.thread_id = $1 AND p.checkpoint_ns = $2 AND p.checkpoint_id = chain.parent_checkpoint_id
    WHERE cardinality(nxt.wanted) > 0
  ), path AS (
    -- (checkpoint, depth, channel) on the path whose writes count: linear or walked
    SELECT c.checkpoint_id, c.depth, c.cv, lin.ch, c.depth = lin.seed AS is_seed
    FROM lin JOIN cand c ON c.depth <= coalesce(lin.seed, (SELECT d FROM span))
    WHERE (SELECT linear FROM ok)
    UNION ALL
    SELECT chain.checkpoint_id, chain.depth, chain.cv, r.ch,
      EXISTS (SELECT 1 FROM stored s WHERE s.channel = r.ch AND s.version = chain.cv ->> r.ch)
    FROM chain CROSS JOIN LATERAL unnest(chain.wanted) AS r(ch)
  )
  SELECT 0 AS kind, NULL AS channel, NULL AS type, string_agg(
      ${field("w.channel")} || ${field("w.task_id")} || ${field("coalesce(w.type, 'json')")}
      || int4send(octet_length(w.blob)) || w.blob, ''::bytea
      ORDER BY path.depth DESC, w.task_path COLLATE "C", w.task_id COLLATE "C", w.idx) AS blob
  FROM path JOIN ${t.writes} w ON w.thread_id = $1 AND w.checkpoint_ns = $2
    AND w.checkpoint_id = path.checkpoint_id AND w.channel = path.ch
    AND w.channel = ANY ($4::text[]) AND w.checkpoint_id <= (SELECT parent_checkpoint_id FROM target)
    AND w.checkpoint_id >= (SELECT min(checkpoint_id) FROM path)
  UNION ALL
  SELECT 1, b.channel, b.type, b.blob
  FROM path ${seedBlob("path.ch", "path.cv ->> path.ch")}
  WHERE path.is_seed`;
}

/** Ancestors read first; more only when the walk goes on beyond them. */
const HEAD = 128;

/**
 * Checkpoints below `bound`, newest first, narrowed to what the walk needs. The bound is a
 * scalar subquery and `> ''` (true of every id) makes the range look narrow to the planner: the
 * head is then read lazily, newest first, from the primary key instead of the whole thread sorted.
 */
const rows = (t: Tables, bound: string, limit: string, op = "<=", guard = "true") =>
  `(SELECT c.checkpoint_id, c.parent_checkpoint_id AS parent, c.checkpoint -> 'channel_versions' AS cv
    FROM ${t.checkpoints} c
    WHERE c.thread_id = $1 AND c.checkpoint_ns = $2 AND c.checkpoint_id ${op} ${bound}
      AND c.checkpoint_id > '' AND ${guard}
    ORDER BY c.checkpoint_id DESC ${limit})`;

/** A text column as `[u32 byte length][UTF-8 bytes]`. */
const field = (sql: string) =>
  `int4send(octet_length(convert_to(${sql}, 'UTF8'))) || convert_to(${sql}, 'UTF8')`;

export interface PackedWrite {
  channel: string;
  taskId: string;
  type: string;
  blob: Uint8Array;
}

const utf8 = new TextDecoder();

/** The kind-0 row's writes, in order; blobs are views of `packed`. */
export function unpackWrites(packed: Uint8Array | null): PackedWrite[] {
  if (!packed) return [];
  const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
  const out: PackedWrite[] = [];
  let at = 0;
  const bytes = () => {
    const length = view.getUint32(at);
    const value = packed.subarray(at + 4, at + 4 + length);
    at += 4 + length;
    return value;
  };
  while (at < packed.length) {
    const channel = utf8.decode(bytes());
    const taskId = utf8.decode(bytes());
    const type = utf8.decode(bytes());
    out.push({ channel, taskId, type, blob: bytes() });
  }
  return out;
}

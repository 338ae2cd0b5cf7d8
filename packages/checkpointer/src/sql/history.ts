// getDeltaChannelHistory's statements: the ancestors' writes of the wanted channels back to each
// channel's nearest stored value (its seed), read as id ranges without a round trip or an index
// probe per step; a second statement walks parent links where a fork makes the ids interleave.
import type { Tables } from "./identifiers.js";

/**
 * $1 thread_id, $2 ns, $3 target checkpoint id (NULL = latest), $4 channel names (distinct).
 * Rows: per wanted channel, one kind-0 row whose `blob` packs its writes (see unpackWrites; NULL:
 * none), oldest checkpoint first, each checkpoint's in (task_path, task_id, idx) code-point
 * order; a kind-1 row per seed (channel, type, blob); or, instead of both, one kind-2 row: the
 * history is not linear, run deltaHistoryWalkSql.
 *
 * Linear history (the usual case): checkpoint ids grow along a branch, so the target's ancestors
 * are the thread's checkpoints below its parent in id order, for as long as each one's parent is
 * the next older checkpoint. One primary-key range reads them (`cand`: the newest 128, or all of
 * them when the walk goes on beyond those) and one index scan the stored versions of the wanted
 * channels (`stored`). Each channel's writes are then one primary-key range of the writes table,
 * from its seed (or the oldest ancestor) to the target's parent (`segs`): no probe or join per
 * step. Not linear: a fork interleaves branches before some channel's seed.
 */
export function deltaHistorySql(t: Tables): string {
  return `WITH target AS (${target(t)}), stored AS MATERIALIZED (${stored(t)}
  ), head AS MATERIALIZED (
    -- the newest ancestors first: most walks end within them (a DeltaChannel snapshot is near)
    ${ancestors(t, `${HEAD}`)}
  ), head_done AS (
    -- the rest is read only if the head has no break, reaches no seed for some channel, and is full
    SELECT count(*) < ${HEAD}
      OR bool_or(h.parent IS DISTINCT FROM h.next AND h.next IS NOT NULL)
      OR NOT EXISTS (SELECT 1 FROM unnest($4::text[]) AS r(ch) WHERE NOT EXISTS (
        SELECT 1 FROM head x JOIN stored s ON s.channel = r.ch AND s.version = x.cv ->> r.ch)) AS done
    FROM (SELECT parent, lead(checkpoint_id) OVER (ORDER BY checkpoint_id DESC) AS next FROM head) AS h
  ), cand AS MATERIALIZED (
    -- the head again if it settles the walk, else every older checkpoint too
    SELECT x.checkpoint_id, x.cv, row_number() OVER w AS depth,
      x.parent IS NOT DISTINCT FROM lead(x.checkpoint_id) OVER w AS linked
    FROM ${ancestors(t, `(SELECT CASE WHEN done THEN ${HEAD} END FROM head_done)`)} AS x
    WINDOW w AS (ORDER BY x.checkpoint_id DESC)
  ), span AS (
    -- the linear prefix: up to and including the first checkpoint whose parent is not the next
    -- row; none if the first row is not the target's parent (deleted: the walk ends at once)
    SELECT CASE WHEN first THEN d ELSE 0 END AS d, whole OR NOT first AS whole FROM (
      SELECT coalesce(min(depth) FILTER (WHERE NOT linked), count(*)) AS d,
        coalesce(bool_and(linked), true) AS whole,
        coalesce(bool_or(depth = 1 AND checkpoint_id = (SELECT p FROM target)), true) AS first
      FROM cand
    ) AS s
  ), lin AS MATERIALIZED (
    -- each channel's seed on the linear prefix: its nearest checkpoint with a stored value
    SELECT r.ch, (SELECT min(c.depth) FROM cand c JOIN stored s ON s.channel = r.ch
        AND s.version = c.cv ->> r.ch
        WHERE c.depth <= (SELECT d FROM span) AND EXISTS (SELECT 1 FROM stored)) AS seed
    FROM unnest($4::text[]) AS r(ch)
  ), ok AS (
    SELECT (SELECT whole FROM span) OR coalesce(bool_and(seed IS NOT NULL), true) AS linear FROM lin
  ), segs AS MATERIALIZED (
    -- per channel: its oldest checkpoint whose writes count (the seed, or the oldest ancestor)
    SELECT lin.ch, c.checkpoint_id AS lo, CASE WHEN lin.seed IS NOT NULL THEN c.cv ->> lin.ch END AS seed
    FROM lin JOIN cand c ON c.depth = coalesce(lin.seed, (SELECT d FROM span))
    WHERE (SELECT linear FROM ok)
  )
  SELECT 2 AS kind, NULL AS channel, NULL AS type, NULL::bytea AS blob FROM ok WHERE NOT linear
  UNION ALL
  ${output(t, "cand")}`;
}

/**
 * The same rows (never kind 2) by walking parent links, one primary-key probe per ancestor (`chain`),
 * for histories deltaHistorySql finds not linear. Same parameters.
 */
export function deltaHistoryWalkSql(t: Tables): string {
  return `WITH RECURSIVE target AS (${target(t)}), stored AS MATERIALIZED (${stored(t)}
  ), chain AS (
    SELECT c.checkpoint_id, c.parent_checkpoint_id, c.checkpoint -> 'channel_versions' AS cv,
      1 AS depth, $4::text[] AS wanted
    FROM target JOIN ${t.checkpoints} c
      ON c.thread_id = $1 AND c.checkpoint_ns = $2 AND c.checkpoint_id = target.p
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
  ), segs AS MATERIALIZED (
    -- per channel: the deepest checkpoint that still wanted it (its seed, or the oldest reached)
    SELECT DISTINCT ON (r.ch) r.ch, chain.checkpoint_id AS lo,
      (SELECT s.version FROM stored s WHERE s.channel = r.ch AND s.version = chain.cv ->> r.ch) AS seed
    FROM chain CROSS JOIN LATERAL unnest(chain.wanted) AS r(ch)
    ORDER BY r.ch, chain.depth DESC
  )
  ${output(t, "chain")}`;
}

/** The target checkpoint's parent (NULL = the target has none; no row = no target). */
const target = (t: Tables) => `
    SELECT parent_checkpoint_id AS p FROM ${t.checkpoints}
    WHERE thread_id = $1 AND checkpoint_ns = $2 AND ($3::text IS NULL OR checkpoint_id = $3)
    ORDER BY checkpoint_id DESC LIMIT 1`;

/** The versions of the wanted channels that hold a value (a seed), not the 'empty' marker. */
const stored = (t: Tables) => `
    SELECT b.channel, b.version FROM ${t.blobs} b
    WHERE b.thread_id = $1 AND b.checkpoint_ns = $2 AND b.channel = ANY ($4::text[]) AND b.type <> 'empty'`;

/**
 * Rows from `segs` (channel, lo, seed version) and the checkpoints on the path (`path`): a
 * channel's writes are one range of ids, from `lo` to the target's parent (ids grow along parent
 * links), kept when their checkpoint is on the path — a walked range also holds other branches'
 * checkpoints, and writes may be stored under an id that has no checkpoint. The aggregate's
 * FILTER makes that one hashed lookup per write of the channel.
 */
const output = (t: Tables, path: string) => `
  SELECT 0 AS kind, r.ch AS channel, NULL AS type, (
      SELECT string_agg(${PACK}, ''::bytea
        ORDER BY w.checkpoint_id, w.task_path COLLATE "C", w.task_id COLLATE "C", w.idx)
        FILTER (WHERE w.checkpoint_id IN (SELECT checkpoint_id FROM ${path}))
      FROM segs JOIN ${t.writes} w ON w.thread_id = $1 AND w.checkpoint_ns = $2
        AND w.channel = segs.ch AND w.checkpoint_id >= segs.lo
        AND w.checkpoint_id <= (SELECT p FROM target)
      WHERE segs.ch = r.ch
    ) AS blob
  FROM unnest($4::text[]) AS r(ch) WHERE EXISTS (SELECT 1 FROM segs)
  UNION ALL
  SELECT 1, b.channel, b.type, b.blob
  FROM segs CROSS JOIN LATERAL (
    SELECT bb.channel, bb.type, bb.blob FROM ${t.blobs} bb
    WHERE bb.thread_id = $1 AND bb.checkpoint_ns = $2 AND bb.channel = segs.ch
      AND bb.version = segs.seed AND bb.type <> 'empty'
    LIMIT 1
  ) AS b
  WHERE segs.seed IS NOT NULL`;

/** Ancestors read first; all of them only when the walk goes on beyond these. */
const HEAD = 128;

/**
 * One write as the binary send form of the record (task_id, type, blob): a column count, then per
 * column its type oid, its byte length (-1: NULL) and its bytes. One function call per write
 * instead of a concatenation per field.
 */
const PACK = "record_send(ROW(w.task_id, w.type, w.blob))";

/**
 * The target's parent and older checkpoints, newest first, `limit` of them (NULL: all); `cv`
 * (the channel versions) only when some wanted channel has a stored value, its only use. The
 * bound is a scalar subquery and `> ''` (true of every id) makes the range look narrow to the
 * planner: it is then read lazily, newest first, from the primary key, not the thread sorted.
 */
const ancestors = (t: Tables, limit: string) =>
  `(SELECT c.checkpoint_id, c.parent_checkpoint_id AS parent,
      CASE WHEN EXISTS (SELECT 1 FROM stored) THEN c.checkpoint -> 'channel_versions' END AS cv
    FROM ${t.checkpoints} c
    WHERE c.thread_id = $1 AND c.checkpoint_ns = $2 AND c.checkpoint_id <= (SELECT p FROM target)
      AND c.checkpoint_id > ''
    ORDER BY c.checkpoint_id DESC LIMIT ${limit})`;

export interface PackedWrite {
  channel: string;
  taskId: string;
  /** NULL in the table reads as "json", as the official saver does. */
  type: string;
  blob: Uint8Array;
}

/**
 * A kind-0 row's writes (all of `channel`), in order. Strings are read in place and blobs are
 * plain Uint8Array views of `packed`: no intermediate view per field (1,000 writes are common).
 */
export function unpackWrites(packed: Uint8Array | null, channel: string): PackedWrite[] {
  if (!packed) return [];
  const bytes = Buffer.isBuffer(packed)
    ? packed
    : Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength);
  const out: PackedWrite[] = [];
  let at = 0;
  // each column: u32 type oid (skipped), i32 byte length (-1: NULL), the bytes
  const length = () => {
    const n = bytes.readInt32BE(at + 4);
    at += 8;
    return n;
  };
  const text = (fallback: string) => {
    const n = length();
    if (n < 0) return fallback;
    const value =
      n === 4 && bytes.readUInt32BE(at) === JSON_TAG ? "json" : bytes.toString("utf8", at, at + n);
    at += n;
    return value;
  };
  while (at < bytes.length) {
    at += 4; // column count: always 3
    const taskId = text("");
    const type = text("json");
    const n = Math.max(0, length());
    out.push({
      channel,
      taskId,
      type,
      blob: new Uint8Array(bytes.buffer, bytes.byteOffset + at, n),
    });
    at += n;
  }
  return out;
}

/** "json" as a big-endian u32, the type of almost every write. */
const JSON_TAG = 0x6a736f6e;

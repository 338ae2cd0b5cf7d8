// getDeltaChannelHistory's statements: the ancestors' writes of the wanted channels back to each
// channel's nearest stored value (its seed), read as id ranges without a round trip or an index
// probe per step; a second statement walks parent links where a fork makes the ids interleave.
import type { Tables } from "./identifiers.js";

/**
 * $1 thread_id, $2 ns, $3 target checkpoint id (NULL = latest), $4 channel names (distinct, and
 * `channels` of them: one channel, the usual call, gets a leaner statement). Rows (kind, channel,
 * task_id, type, blob): a kind-0 row per write of a wanted channel, oldest checkpoint first, each
 * checkpoint's in (task_path, task_id, idx) code-point order; a kind-1 row per seed (channel,
 * type, blob); or, instead of both, a kind-2 row: the history is not linear, run
 * deltaHistoryWalkSql.
 *
 * Linear history (the usual case): checkpoint ids grow along a branch, so the target's ancestors
 * are the thread's checkpoints below its parent in id order, for as long as each one's parent is
 * the next older checkpoint. One primary-key range reads them newest first (`anc`), and stops
 * after the first one that holds a stored value of every wanted channel: a window run condition
 * ends the scan there, so a walk costs what it covers, not the thread. The stored versions of the
 * wanted channels are one index scan (`stored`). The writes are then one primary-key range of
 * the writes table, from the oldest checkpoint that counts to the target's parent, kept if their
 * checkpoint is on the path (one hashed lookup each): no probe or join per step. Not linear: a
 * fork interleaves branches before some channel's seed, or an ancestor is missing.
 */
export function deltaHistorySql(t: Tables, channels = 1): string {
  return channels === 1 ? oneChannel(t) : manyChannels(t, channels);
}

/**
 * One channel: the scan stops after the first checkpoint whose version of it is stored, so that
 * one is the last row and the only seed. The history is linear if every row before it is linked
 * to the next (and, without a seed, the last row too: it is the root).
 */
const oneChannel = (t: Tables) => `WITH target AS (${target(t)}), stored AS MATERIALIZED (
    SELECT b.version FROM ${t.blobs} b
    WHERE b.thread_id = $1 AND b.checkpoint_ns = $2 AND b.channel = ($4::text[])[1] AND b.type <> 'empty'
  ), anc AS MATERIALIZED (${walkRows(t, {
    value: `CASE WHEN EXISTS (SELECT 1 FROM stored)
        THEN c.checkpoint -> 'channel_versions' ->> ($4::text[])[1] END AS version`,
    per: `v.version, coalesce(v.version IN (SELECT version FROM stored), false) AS seeds`,
    keep: "a.version, a.seeds",
    stop: "a.seeds",
  })}
  ), walk AS MATERIALIZED (
    -- none if the first row is not the target's parent (deleted: the walk ends at once)
    SELECT min(checkpoint_id) AS lo, max(version) FILTER (WHERE seeds) AS seed,
      bool_and(linked OR seeds) AS linear
    FROM anc HAVING bool_or(checkpoint_id = (SELECT p FROM target))
  )
  SELECT 2 AS kind, NULL AS channel, NULL AS task_id, NULL AS type, NULL::bytea AS blob
  FROM walk WHERE NOT linear
  UNION ALL
  SELECT 1, b.channel, NULL, b.type, b.blob FROM walk CROSS JOIN LATERAL (${seedBlob(
    t,
    "($4::text[])[1]",
    "walk.seed",
  )}) AS b
  WHERE walk.linear AND walk.seed IS NOT NULL
  UNION ALL
  (SELECT 0, w.channel, w.task_id, w.type, w.blob FROM ${t.writes} w
  WHERE w.thread_id = $1 AND w.checkpoint_ns = $2
    AND w.checkpoint_id >= (SELECT lo FROM walk WHERE linear)
    AND w.checkpoint_id <= (SELECT p FROM target)
    AND ${onPath("w.channel = ($4::text[])[1]", "w.checkpoint_id IN (SELECT checkpoint_id FROM anc)")}
  ORDER BY ${WRITE_ORDER})`;

/**
 * Several channels: each row gets a bit per channel whose version there is stored, and the scan
 * stops after the first row by which every channel has had one (up to 62 channels; beyond, it
 * reads every older checkpoint). Each channel's seed is its nearest such row on the linear prefix
 * (up to the first row not linked to the next), its writes those of the rows up to its seed, or
 * up to the root. Up to UNROLLED channels the bits are one expression per channel, and a channel
 * with no stored value at all is not looked up row by row.
 */
const manyChannels = (
  t: Tables,
  channels: number,
) => `WITH target AS (${target(t)}), stored AS MATERIALIZED (
    SELECT b.channel, b.version FROM ${t.blobs} b
    WHERE b.thread_id = $1 AND b.checkpoint_ns = $2 AND b.channel = ANY ($4::text[]) AND b.type <> 'empty'
  ), anc AS MATERIALIZED (${walkRows(t, {
    value: `CASE WHEN EXISTS (SELECT 1 FROM stored) THEN c.checkpoint -> 'channel_versions' END AS cv`,
    per: `v.cv, ${maskOf(channels)} AS mask`,
    keep: `a.cv, a.mask, row_number() OVER w AS depth,
        bit_or(a.mask) OVER w = (1::bigint << cardinality($4::text[])) - 1 AS seeds`,
    stop: "a.seeds",
    nested: true,
  })}
  ), ends AS (
    -- none if the first row is not the target's parent (deleted: the walk ends at once)
    SELECT min(depth) FILTER (WHERE NOT linked) AS brk, max(depth) AS last, min(checkpoint_id) AS lo
    FROM anc HAVING bool_or(depth = 1 AND checkpoint_id = (SELECT p FROM target))
  ), segs AS MATERIALIZED (
    -- per channel: its seed on the linear prefix, and the depth of its oldest checkpoint that counts
    -- (the seed, or the root); NULL: not linear
    SELECT r.ch, coalesce(s.depth, CASE WHEN e.brk IS NULL THEN e.last END) AS deepest, s.version AS seed
    FROM ends e CROSS JOIN unnest($4::text[]) WITH ORDINALITY AS r(ch, i)
    LEFT JOIN LATERAL (
      SELECT a.depth, a.cv ->> r.ch AS version FROM anc a
      WHERE a.depth <= coalesce(e.brk, e.last)
        AND (CASE WHEN a.mask IS NOT NULL THEN (a.mask >> (r.i - 1)::int) & 1 = 1
          ELSE ((r.ch, a.cv ->> r.ch) IN (SELECT channel, version FROM stored)) END) IS TRUE
      ORDER BY a.depth LIMIT 1
    ) AS s ON true
  ), linear AS (
    SELECT bool_and(deepest IS NOT NULL) AS ok FROM segs
  )
  SELECT 2 AS kind, NULL AS channel, NULL AS task_id, NULL AS type, NULL::bytea AS blob
  FROM linear WHERE NOT ok
  UNION ALL
  SELECT 1, b.channel, NULL, b.type, b.blob
  FROM segs CROSS JOIN LATERAL (${seedBlob(t, "segs.ch", "segs.seed")}) AS b
  WHERE segs.seed IS NOT NULL AND (SELECT ok FROM linear)
  UNION ALL
  (SELECT 0, w.channel, w.task_id, w.type, w.blob FROM ${t.writes} w
  WHERE w.thread_id = $1 AND w.checkpoint_ns = $2
    AND w.checkpoint_id >= (SELECT lo FROM ends WHERE (SELECT ok FROM linear))
    AND w.checkpoint_id <= (SELECT p FROM target)
    AND ${onPath(
      "w.channel = ANY ($4::text[])",
      `(w.channel, w.checkpoint_id) IN (
        SELECT s.ch, a.checkpoint_id FROM segs s JOIN anc a ON a.depth <= s.deepest)`,
    )}
  ORDER BY ${WRITE_ORDER})`;

/** Channels up to which a row's bits are one expression per channel (see maskOf). */
const UNROLLED = 8;

/**
 * A row's bits (over `v.cv`): bit i-1 set when the row's version of channel i is stored; NULL
 * when nothing is stored or there are more than 62 channels (segs then looks the versions up).
 */
function maskOf(channels: number): string {
  if (channels > UNROLLED) {
    return `CASE WHEN v.cv IS NOT NULL AND cardinality($4::text[]) <= 62 THEN (
        SELECT bit_or(1::bigint << (r.i - 1)::int) FROM unnest($4::text[]) WITH ORDINALITY AS r(ch, i)
        WHERE ((r.ch, v.cv ->> r.ch) IN (SELECT channel, version FROM stored)) IS TRUE
      ) END`;
  }
  // One term per channel; a channel with no stored value (an initplan, evaluated once) is skipped
  // without reading its version from the row.
  const bit = (i: number) => {
    const ch = `($4::text[])[${i}]`;
    return `CASE WHEN NOT EXISTS (SELECT 1 FROM stored s WHERE s.channel = ${ch}) THEN 0::bigint
          WHEN ((${ch}, v.cv ->> ${ch}) IN (SELECT channel, version FROM stored)) IS TRUE
          THEN ${2 ** (i - 1)}::bigint ELSE 0::bigint END`;
  };
  const terms = Array.from({ length: channels }, (_, k) => `(${bit(k + 1)})`);
  return `CASE WHEN v.cv IS NOT NULL THEN ${terms.join(" | ")} END`;
}

/**
 * The target's parent and older checkpoints, newest first, each with `linked` (its parent is the
 * next row), up to and including the first row where `stop` holds. `value` (over `c`, as `v`) and
 * `per` (over `c` and `v`) add columns per checkpoint; `keep` (over the scan's rows `a`, in window
 * `w`) is what the window passes on. The bound is a scalar subquery and `> ''` (true of every id)
 * makes the range look narrow to the planner: it is then read lazily, newest first, from the
 * primary key, not the thread sorted. The count of preceding rows where `stop` held is a window
 * run condition: it ends the scan, instead of filtering rows read anyway. `nested`: `stop` is
 * itself a window function's result (in `keep`), so it is counted one level up.
 */
function walkRows(
  t: Tables,
  o: { value: string; per: string; keep: string; stop: string; nested?: boolean },
): string {
  const scan = `SELECT c.checkpoint_id, c.parent_checkpoint_id AS parent, ${o.per}
      FROM ${t.checkpoints} c CROSS JOIN LATERAL (SELECT ${o.value}) AS v
      WHERE c.thread_id = $1 AND c.checkpoint_ns = $2 AND c.checkpoint_id <= (SELECT p FROM target)
        AND c.checkpoint_id > ''
      ORDER BY c.checkpoint_id DESC`;
  const rows = `SELECT a.checkpoint_id, ${o.keep},
        a.parent IS NOT DISTINCT FROM lead(a.checkpoint_id) OVER w AS linked`;
  const before = "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING";
  if (!o.nested) {
    return `
    SELECT * FROM (
      ${rows}, count(*) FILTER (WHERE ${o.stop}) OVER w AS before
      FROM (${scan}) AS a
      WINDOW w AS (ORDER BY a.checkpoint_id DESC ${before})
    ) AS x WHERE before < 1`;
  }
  return `
    SELECT * FROM (
      SELECT a.*, count(*) FILTER (WHERE ${o.stop}) OVER (ORDER BY a.checkpoint_id DESC ${before}) AS before
      FROM (
        ${rows}
        FROM (${scan}) AS a
        WINDOW w AS (ORDER BY a.checkpoint_id DESC ROWS UNBOUNDED PRECEDING)
      ) AS a
    ) AS x WHERE before < 1`;
}

/**
 * The same rows (never kind 2) by walking parent links, one primary-key probe per ancestor (`chain`),
 * for histories deltaHistorySql finds not linear. Same parameters.
 */
export function deltaHistoryWalkSql(t: Tables): string {
  return `WITH RECURSIVE target AS (${target(t)}), stored AS MATERIALIZED (
    SELECT b.channel, b.version FROM ${t.blobs} b
    WHERE b.thread_id = $1 AND b.checkpoint_ns = $2 AND b.channel = ANY ($4::text[]) AND b.type <> 'empty'
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
  SELECT 1 AS kind, b.channel, NULL AS task_id, b.type, b.blob
  FROM segs CROSS JOIN LATERAL (${seedBlob(t, "segs.ch", "segs.seed")}) AS b
  WHERE segs.seed IS NOT NULL
  UNION ALL
  -- a channel's writes are one range of ids, from its \`lo\` to the target's parent (ids grow along
  -- parent links), kept when their checkpoint is on the path: a walked range also holds other
  -- branches' checkpoints, and writes may be stored under an id that has no checkpoint
  (SELECT 0, w.channel, w.task_id, w.type, w.blob
  FROM segs JOIN ${t.writes} w ON w.thread_id = $1 AND w.checkpoint_ns = $2
    AND w.channel = segs.ch AND w.checkpoint_id >= segs.lo
    AND w.checkpoint_id <= (SELECT p FROM target)
  WHERE (w.checkpoint_id IN (SELECT checkpoint_id FROM chain)) IS TRUE
  ORDER BY ${WRITE_ORDER})`;
}

/**
 * A write's filter: `cheap` (its channel) first, then `member` (its checkpoint is on the path):
 * inside one IS TRUE the AND runs left to right, so only the wanted channel's writes are looked up
 * (the planner would otherwise order them by estimated cost), and the IN stays one hashed lookup
 * per write: a bare IN in WHERE is turned into a join, which the planner, seeing few ancestors
 * (see walkRows), makes one index probe of the writes per ancestor.
 */
function onPath(cheap: string, member: string): string {
  return `(${cheap} AND ${member}) IS TRUE`;
}

/** The target checkpoint's parent (NULL = the target has none; no row = no target). */
const target = (t: Tables) => `
    SELECT parent_checkpoint_id AS p FROM ${t.checkpoints}
    WHERE thread_id = $1 AND checkpoint_ns = $2 AND ($3::text IS NULL OR checkpoint_id = $3)
    ORDER BY checkpoint_id DESC LIMIT 1`;

/** A seed's blob: `channel`'s stored value at `version` (the 'empty' marker is no value). */
const seedBlob = (t: Tables, channel: string, version: string) => `
    SELECT bb.channel, bb.type, bb.blob FROM ${t.blobs} bb
    WHERE bb.thread_id = $1 AND bb.checkpoint_ns = $2 AND bb.channel = ${channel}
      AND bb.version = ${version} AND bb.type <> 'empty'
    LIMIT 1`;

/**
 * The order writes are replayed in: checkpoint by checkpoint (oldest first, ids grow along a
 * branch), each checkpoint's in (task_path, task_id, idx) code-point order, as LangGraph applies
 * them. Plain rows, not one packed value per channel: packing (string_agg of record_send) cost
 * the server more than sending the rows, and the client an unpacking pass.
 */
const WRITE_ORDER = `w.checkpoint_id, w.task_path COLLATE "C", w.task_id COLLATE "C", w.idx`;

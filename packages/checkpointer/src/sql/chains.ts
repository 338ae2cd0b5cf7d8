// SQL that fetches the chains of compact blob rows: inside the read query, and on their own.
import { APPEND_TYPE_PREFIX, APPEND_TYPE_SQL } from "../compact/format.js";
import type { Tables } from "./identifiers.js";

/** Position after the prefix in `type`, where the root version starts (SQL substr is 1-based). */
const ROOT_AT = APPEND_TYPE_PREFIX.length + 1;

/**
 * Every row of the chains that `roots` (thread_id, checkpoint_ns, channel, type) name: the compact
 * rows with that type — one scan of the v17 partial index — and the root row by primary key.
 * Repeating the index predicate lets the planner use the partial index with a join parameter.
 */
export function chainRowsLateral(t: Tables, r: string): string {
  return `CROSS JOIN LATERAL (
    SELECT b.channel, b.type, b.version, b.blob FROM ${t.blobs} b
    WHERE b.thread_id = ${r}.thread_id AND b.checkpoint_ns = ${r}.checkpoint_ns AND b.channel = ${r}.channel
      AND b.type = ${r}.type AND b.type LIKE ${APPEND_TYPE_SQL}
    UNION ALL
    (SELECT b.channel, b.type, b.version, b.blob FROM ${t.blobs} b
    WHERE b.thread_id = ${r}.thread_id AND b.checkpoint_ns = ${r}.checkpoint_ns AND b.channel = ${r}.channel
      AND b.version = substr(${r}.type, ${ROOT_AT})
    LIMIT 1)
  ) AS ch`;
}

/**
 * One bytea per chain: each row as `[u32 length][version][u32 length][type][i32 length][blob]`
 * (type empty when it is the chain's own; length -1: NULL blob), so a 1,000-row chain crosses the
 * wire as one value, not 1,000 rows.
 */
const packedSql = (lateral: string, r: string) => `string_agg(
    int4send(octet_length(v.version)) || v.version || int4send(octet_length(v.type)) || v.type
    || int4send(coalesce(octet_length(ch.blob), -1)) || coalesce(ch.blob, ''::bytea), ''::bytea)
  FROM (SELECT 1) AS one ${lateral}
  CROSS JOIN LATERAL (SELECT convert_to(ch.version, 'UTF8') AS version,
    convert_to(CASE WHEN ch.type = ${r}.type THEN '' ELSE ch.type END, 'UTF8') AS type) AS v`;

/**
 * For readSql: the distinct chains the page's checkpoints point into (a primary-key probe per
 * channel that reads no blob, only in namespaces holding compact rows), each as one kind-3 row (a = channel, blob = the packed rows, see
 * PACKED). Threads without compact rows return none.
 */
export function readChainsSql(t: Tables): { cte: string; select: string } {
  const cte = `roots AS (
    SELECT DISTINCT cp.thread_id, cp.checkpoint_ns, v.key AS channel, r.type
    FROM cp
    CROSS JOIN LATERAL jsonb_each_text(cp.checkpoint -> 'channel_versions') AS v(key, value)
    CROSS JOIN LATERAL (
      SELECT b.type FROM ${t.blobs} b
      WHERE b.thread_id = cp.thread_id AND b.checkpoint_ns = cp.checkpoint_ns
        AND b.channel = v.key AND b.version = v.value AND b.type LIKE ${APPEND_TYPE_SQL}
      LIMIT 1
    ) AS r
    -- one probe of the small v17 partial index spares threads without compact rows the rest
    WHERE EXISTS (SELECT 1 FROM ${t.blobs} d WHERE d.thread_id = cp.thread_id
      AND d.checkpoint_ns = cp.checkpoint_ns AND d.type LIKE ${APPEND_TYPE_SQL})
  )`;
  const select = `SELECT 3, roots.thread_id, roots.checkpoint_ns, '', roots.channel, roots.type, NULL, NULL,
    (SELECT ${packedSql(chainRowsLateral(t, "roots"), "roots")}), 0
  FROM roots`;
  return { cte, select };
}

/**
 * Rows by key, plus the chains of those that are compact: for bases a read did not fetch (a
 * thread converted while it was written), seeds of getDeltaChannelHistory, and expand.
 * $1 thread ids, $2 namespaces, $3 channels, $4 versions (parallel arrays).
 */
export function fetchRowsSql(t: Tables): string {
  return `WITH want AS (
    SELECT DISTINCT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
      AS w(thread_id, checkpoint_ns, channel, version)
  ), got AS (
    SELECT b.thread_id, b.checkpoint_ns, b.channel, b.type, b.version, b.blob
    FROM want w JOIN ${t.blobs} b ON b.thread_id = w.thread_id AND b.checkpoint_ns = w.checkpoint_ns
      AND b.channel = w.channel AND b.version = w.version
  ), roots AS (
    SELECT DISTINCT thread_id, checkpoint_ns, channel, type FROM got WHERE type LIKE ${APPEND_TYPE_SQL}
  )
  SELECT thread_id, checkpoint_ns, channel, type, version, blob FROM got
  UNION ALL
  SELECT roots.thread_id, roots.checkpoint_ns, ch.channel, ch.type, ch.version, ch.blob
  FROM roots ${chainRowsLateral(t, "roots")}`;
}

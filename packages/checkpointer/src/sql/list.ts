// list(): the filters, before/limit and keyset paging of the checkpoints query.
import type { RunnableConfig } from "@langchain/core/runnables";
import type { CheckpointListOptions } from "@langchain/langgraph-checkpoint";
import { checkKey, toJsonText } from "../input.js";
import { toJsonbText } from "../nul.js";
import type { Tables } from "./identifiers.js";
import { CP_COLUMNS } from "./statements.js";

export interface ListCursor {
  checkpoint_id: string;
  thread_id: string;
  checkpoint_ns: string;
}

/**
 * Builds list() pages. Within one (thread, namespace) the order is checkpoint_id and the PK index
 * serves it; across threads ties break on (thread_id, checkpoint_ns). Pages are keyset: each one
 * starts strictly after the previous page's last row, so nothing is skipped or repeated.
 */
export function listPlan(t: Tables, config: RunnableConfig, options: CheckpointListOptions = {}) {
  const { filter, before } = options;
  const c = config?.configurable ?? {};
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, value: unknown) => {
    params.push(value);
    where.push(sql.replace("?", `$${params.length}`));
  };
  const threadFixed = c.thread_id !== undefined && c.thread_id !== null && c.thread_id !== "";
  const nsFixed = c.checkpoint_ns !== undefined && c.checkpoint_ns !== null;
  if (threadFixed) add("thread_id = ?", checkKey("list", "thread_id", c.thread_id));
  if (nsFixed) add("checkpoint_ns = ?", checkKey("list", "checkpoint_ns", c.checkpoint_ns, true));
  if (c.checkpoint_id) add("checkpoint_id = ?", checkKey("list", "checkpoint_id", c.checkpoint_id));
  if (filter && Object.keys(filter).length > 0) {
    add("metadata @> ?::jsonb", toJsonbText(toJsonText("list", "filter", filter)));
  }
  if (before?.configurable?.checkpoint_id !== undefined) {
    add("checkpoint_id < ?", checkKey("list", "checkpoint_id", before.configurable.checkpoint_id));
  }
  const singleChain = threadFixed && nsFixed;
  const order = singleChain
    ? "checkpoint_id DESC"
    : "checkpoint_id DESC, thread_id DESC, checkpoint_ns DESC";
  const limit = options.limit;
  return {
    order,
    total: limit === undefined ? Number.POSITIVE_INFINITY : Math.max(0, Math.floor(Number(limit))),
    page(cursor: ListCursor | undefined, pageSize: number) {
      const pageParams = [...params];
      const pageWhere = [...where];
      if (cursor && singleChain) {
        pageParams.push(cursor.checkpoint_id);
        pageWhere.push(`checkpoint_id < $${pageParams.length}`);
      } else if (cursor) {
        pageParams.push(cursor.checkpoint_id, cursor.thread_id, cursor.checkpoint_ns);
        const n = pageParams.length;
        pageWhere.push(`(checkpoint_id, thread_id, checkpoint_ns) < ($${n - 2}, $${n - 1}, $${n})`);
      }
      const sql = `SELECT ${CP_COLUMNS} FROM ${t.checkpoints}
        ${pageWhere.length ? `WHERE ${pageWhere.join(" AND ")}` : ""}
        ORDER BY ${order} LIMIT ${pageSize}`;
      return { sql, params: pageParams };
    },
  };
}

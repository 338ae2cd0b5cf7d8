// Test support for archive/restore: realistic threads built by real graphs (a 20-step tool loop,
// DeltaChannel messages, a fork, a subgraph namespace, a pending interrupt) and exact snapshots.
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { exportThreadRows, type PostgresCheckpointer } from "@agentstate/checkpointer";
import { HumanMessage } from "@langchain/core/messages";
import { Annotation, END, START, StateGraph } from "@langchain/langgraph";
import {
  approvalGraph,
  deltaMessagesGraph,
  toolLoopGraph,
  userSays,
} from "../../checkpointer/test/graphs.js";

const Log = Annotation.Root({
  log: Annotation<string[]>({ reducer: (a, b) => [...a, ...b], default: () => [] }),
});

/** A parent graph whose first node is a subgraph: checkpoints in a child namespace too. */
export function subgraphGraph(checkpointer: PostgresCheckpointer) {
  const child = new StateGraph(Log)
    .addNode("inner", async () => ({ log: ["inner"] }))
    .addEdge(START, "inner")
    .addEdge("inner", END)
    .compile({ checkpointer: true });
  return new StateGraph(Log)
    .addNode("child", child)
    .addNode("after", async () => ({ log: ["after"] }))
    .addEdge(START, "child")
    .addEdge("child", "after")
    .addEdge("after", END)
    .compile({ checkpointer });
}

const cfg = (thread_id: string) => ({ configurable: { thread_id }, durability: "sync" as const });

/** Five finished-or-waiting threads under `prefix`; returns their ids by kind. */
export async function buildThreads(saver: PostgresCheckpointer, prefix: string) {
  const ids = {
    loop: `${prefix}-loop`,
    delta: `${prefix}-delta`,
    fork: `${prefix}-fork`,
    sub: `${prefix}-sub`,
    wait: `${prefix}-wait`,
  };
  // 10 rounds of model → tools: 20 steps.
  await toolLoopGraph(saver, 10).invoke(userSays("hi"), cfg(ids.loop));
  const delta = deltaMessagesGraph(saver, 4);
  for (let i = 0; i < 10; i += 1) await delta.invoke({}, cfg(ids.delta));
  const fork = toolLoopGraph(saver, 3);
  await fork.invoke(userSays("fork"), cfg(ids.fork));
  const history = [];
  for await (const s of fork.getStateHistory(cfg(ids.fork))) history.push(s);
  const branchAt = history[3]?.config as Parameters<typeof fork.updateState>[0];
  const forked = await fork.updateState(branchAt, {
    messages: [new HumanMessage({ content: "branch", id: "h-branch" })],
  });
  await fork.invoke(null, { ...forked, durability: "sync" });
  await subgraphGraph(saver).invoke({}, cfg(ids.sub));
  await approvalGraph(saver).invoke(userSays("ship"), cfg(ids.wait));
  return ids;
}

/** What a thread reads as: list() over all namespaces, and its raw rows, as text. */
export async function snapshot(saver: PostgresCheckpointer, threadId: string) {
  const tuples: string[] = [];
  for await (const t of saver.list({ configurable: { thread_id: threadId } })) {
    tuples.push(JSON.stringify(t, (_k, v) => (v instanceof Uint8Array ? [...v] : v)));
  }
  const { sections } = await exportThreadRows(saver.db, saver.tables, threadId);
  return { tuples, rows: sections };
}

/** A fresh directory and its file:// URL. */
export async function tempArchiveDir(label: string) {
  const dir = await mkdtemp(join(tmpdir(), `agentstate-archive-${label}-`));
  return {
    dir,
    url: pathToFileURL(dir).href,
    /** Every file below the directory, relative. */
    async files(): Promise<string[]> {
      const entries = await readdir(dir, { recursive: true, withFileTypes: true });
      return entries
        .filter((e) => e.isFile())
        .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
        .sort();
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Rows of a thread per table, straight from the database. */
export async function rowCounts(saver: PostgresCheckpointer, threadId: string) {
  const { sections } = await exportThreadRows(saver.db, saver.tables, threadId);
  return Object.fromEntries(Object.entries(sections).map(([k, v]) => [k, v.length]));
}

// `pnpm --filter @agentstate/example-retention start`: seeds a few threads through the real
// agent (two of them 40 days old, one long-lived with old early checkpoints, one waiting for a
// human), then runs retention twice: a dry run, and the real thing.
// Embedded database in ./.agentstate/pgdata (wiped first); with DATABASE_URL, only the schema
// AGENTSTATE_SCHEMA (default agentstate_retention_demo), emptied first.
import { rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { getCheckpointer } from "@agentstate/checkpointer";
import { HumanMessage } from "@langchain/core/messages";
import { Command } from "@langchain/langgraph";
import { buildAgent } from "../src/agent.js";
import { runRetention } from "../src/retention.js";
import { ageThread, seedThreads } from "../src/seed.js";

const EXAMPLE = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const schema = process.env.AGENTSTATE_SCHEMA ?? "agentstate_retention_demo";
if (!process.env.DATABASE_URL) {
  process.env.AGENTSTATE_DATA_DIR ??= join(EXAMPLE, ".agentstate/pgdata");
  rmSync(process.env.AGENTSTATE_DATA_DIR, { recursive: true, force: true });
}
const checkpointer = await getCheckpointer({ schema });
for (const t of (await checkpointer.listThreads({ limit: 1000 })).threads) {
  await checkpointer.deleteThread(t.threadId);
}

console.log("seeding: 5 threads through the agent");
await seedThreads(checkpointer, [
  { threadId: "active", turns: 8 },
  { threadId: "long-lived", turns: 10 },
  { threadId: "waiting", turns: 3, waiting: true },
  { threadId: "stale-1", turns: 3 },
  { threadId: "stale-2", turns: 2 },
]);
await ageThread(checkpointer, "stale-1", 40);
await ageThread(checkpointer, "stale-2", 45);
await ageThread(checkpointer, "long-lived", 60, 4); // old history, but active today

const policy = { checkpointer, keepLatest: 20, olderThan: "30d" };
console.log("\n$ retention --keep-latest 20 --older-than 30d --dry-run");
await runRetention({ ...policy, dryRun: true });
console.log("\n$ retention --keep-latest 20 --older-than 30d");
await runRetention(policy);

const left = await checkpointer.listThreads({ limit: 100 });
const counts = left.threads.map((t) => `${t.threadId} (${t.checkpointCount} checkpoints)`);
console.log(`\nthreads left: ${counts.join(", ")}`);

// What is left resumes as before: the waiting thread gets its answer, the active one a question.
const agent = buildAgent(checkpointer);
const config = (id: string) => ({ configurable: { thread_id: id } });
const reply = (r: { messages: Array<{ content: unknown }> }) => String(r.messages.at(-1)?.content);
console.log(
  `waiting, answered "yes": ${reply(await agent.invoke(new Command({ resume: "yes" }), config("waiting")))}`,
);
console.log(
  `active, one more question: ${reply(await agent.invoke({ messages: [new HumanMessage("question 9")] }, config("active")))}`,
);
await checkpointer.end();

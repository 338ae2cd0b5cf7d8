// One process of the demo: opens the embedded checkpointer, runs (or resumes) the thread, exits.
//   worker.ts start <dataDir>   runs the first half (stops at a step limit, like a crash would)
//   worker.ts resume <dataDir>  resumes the same thread from its last checkpoint and finishes
import { describeTarget, getCheckpointer } from "@agentstate/checkpointer";
import { HumanMessage } from "@langchain/core/messages";
import { notesGraph } from "./graph.js";

const [mode, dataDir] = process.argv.slice(2);
const STEPS = 8;
const saver = await getCheckpointer({ dataDir });
const graph = notesGraph(saver, STEPS);
const config = { configurable: { thread_id: "demo-thread" }, durability: "sync" as const };
const where = describeTarget({ dataDir });

if (mode === "start") {
  // recursionLimit stops the run half-way, as a crash would: every step so far is checkpointed.
  await graph
    .invoke({ messages: [new HumanMessage("research agent state")] }, { ...config, recursionLimit: STEPS / 2 })
    .catch((e: Error) => console.log(`  process ${process.pid}: stopped early (${e.name})`));
} else {
  const before = await graph.getState(config);
  console.log(`  process ${process.pid}: found ${before.values.messages.length} messages, next: ${before.next.join(",")}`);
  await graph.invoke(null, config);
}
const state = await graph.getState(config);
const stats = await saver.getCheckpointStats();
console.log(`  process ${process.pid} (${where.kind} at ${where.location}): ${state.values.messages.length} messages, ` +
  `${stats.totalCheckpoints} checkpoints, done: ${state.next.length === 0}`);
await saver.end();

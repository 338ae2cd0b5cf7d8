// One process running a research task on a thread (what an app server or a job runner would do):
//   worker.ts <threadId> "<task>"
// Config from the environment (see config.ts). Exits non-zero if the run fails.
import { ResearchAgent } from "./agent.js";
import { configFromEnv } from "./config.js";

const [threadId = "research-1", task = "Research durable agent state and write a report."] =
  process.argv.slice(2);
const agent = await ResearchAgent.open(configFromEnv());
try {
  await agent.run(threadId, task);
} finally {
  await agent.close();
}

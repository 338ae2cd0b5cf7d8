// Runs the research agent once, start to finish, on the embedded database (or DATABASE_URL),
// with a local S3-compatible server for /uploads/. `pnpm --filter @agentstate/example-research-agent start`
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { ResearchAgent } from "./agent.js";
import { startLocalS3 } from "./blob-server.js";
import { configFromEnv } from "./config.js";

const home = resolve(process.env.RESEARCH_HOME ?? ".agentstate/research");
const s3 = await startLocalS3(join(home, "s3"));
const config = { ...configFromEnv(), s3: { endpoint: s3.endpoint, bucket: s3.bucket } };
const agent = await ResearchAgent.open(config);
try {
  const threadId = `research-${Date.now()}`;
  await agent.run(threadId, "Research durable agent state and write a report.", (update) => {
    const [node] = Object.keys(update as object);
    process.stdout.write(`${node} `);
  });
  const state = await agent.state(threadId);
  console.log(`\n\nthread ${threadId}: ${state.messages.length} messages`);
  console.log(`answer: ${state.messages.at(-1)?.content}`);
  console.log(
    `on disk: ${join(config.projectsDir, "acme/notes.md")} exists=${existsSync(join(config.projectsDir, "acme/notes.md"))}`,
  );
  console.log(`upload: ${await agent.shareableUrl("/uploads/report.md")}`);
  console.log(`in graph state only: ${Object.keys(state.files ?? {}).join(", ")}`);
} finally {
  await agent.close();
  await s3.stop();
}

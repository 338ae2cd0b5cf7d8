// The module the `agentstate` CLI loads (see langgraph.json): it returns the agent without a
// database; the CLI attaches its own checkpointer. Configuration comes from the environment.

import { createResearchAgent } from "./agent.js";
import { buildBackend } from "./backend.js";
import { configFromEnv } from "./config.js";

export async function graph() {
  const config = configFromEnv();
  return createResearchAgent({
    backend: buildBackend(config).backend,
    effectsFile: config.effectsFile,
    slowCall: config.slowCall,
  });
}

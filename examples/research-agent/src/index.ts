export { createResearchAgent, ResearchAgent } from "./agent.js";
export { buildBackend } from "./backend.js";
export { type LocalS3, startLocalS3 } from "./blob-server.js";
export { configFromEnv, configToEnv, type ResearchConfig } from "./config.js";
export { countEffects, type EffectLine, readEffects } from "./effects.js";
export { callId, FINAL_ANSWER, RESEARCH_PLAN, ResearchPlanModel } from "./model.js";

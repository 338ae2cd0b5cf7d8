import { resolve } from "node:path";

/** Where the research agent keeps things; every process of a run must see the same values. */
export interface ResearchConfig {
  /** Postgres URL; unset → the embedded database in `dataDir`. */
  databaseUrl?: string;
  /** @default "public" */
  schema?: string;
  /** Embedded database directory. */
  dataDir: string;
  /** Mounted directory behind `/projects/` (an NFS mount in production). */
  projectsDir: string;
  /** S3-compatible bucket behind `/uploads/`. */
  s3: { endpoint?: string; bucket: string; region?: string };
  /** Side-effect counter file; unset → not recorded. */
  effectsFile?: string;
  /** Lease of durable runs: also how long after a crash it is detected. @default 30 */
  leaseSeconds: number;
  /** Test/demo hook: make one tool call slow so it can be killed in the middle. */
  slowCall?: { callId: string; ms: number };
}

/** Reads the config from the environment (what the CLI's graph module and the worker share). */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): ResearchConfig {
  const home = resolve(env.RESEARCH_HOME ?? ".agentstate/research");
  return {
    databaseUrl: env.DATABASE_URL || undefined,
    schema: env.AGENTSTATE_SCHEMA || undefined,
    dataDir: env.AGENTSTATE_DATA_DIR ?? resolve(home, "pgdata"),
    projectsDir: env.RESEARCH_PROJECTS_DIR ?? resolve(home, "projects"),
    s3: {
      endpoint: env.RESEARCH_S3_ENDPOINT,
      bucket: env.RESEARCH_S3_BUCKET ?? "agentstate-demo",
      region: env.AWS_REGION,
    },
    effectsFile: env.RESEARCH_EFFECTS_FILE,
    leaseSeconds: Number(env.RESEARCH_LEASE_SECONDS ?? 30),
    slowCall: env.RESEARCH_SLOW_CALL
      ? { callId: env.RESEARCH_SLOW_CALL, ms: Number(env.RESEARCH_SLOW_MS ?? 60_000) }
      : undefined,
  };
}

/** The same config as environment variables, for child processes and the CLI. */
export function configToEnv(c: ResearchConfig): Record<string, string> {
  const env: Record<string, string> = {
    AGENTSTATE_DATA_DIR: c.dataDir,
    RESEARCH_PROJECTS_DIR: c.projectsDir,
    RESEARCH_S3_BUCKET: c.s3.bucket,
    RESEARCH_LEASE_SECONDS: String(c.leaseSeconds),
  };
  // Always set: an inherited DATABASE_URL must not send a child to another database.
  env.DATABASE_URL = c.databaseUrl ?? "";
  if (c.schema) env.AGENTSTATE_SCHEMA = c.schema;
  if (c.s3.endpoint) env.RESEARCH_S3_ENDPOINT = c.s3.endpoint;
  if (c.effectsFile) env.RESEARCH_EFFECTS_FILE = c.effectsFile;
  if (c.slowCall) {
    env.RESEARCH_SLOW_CALL = c.slowCall.callId;
    env.RESEARCH_SLOW_MS = String(c.slowCall.ms);
  }
  return env;
}

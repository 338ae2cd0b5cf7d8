import { defineConfig } from "vitest/config";

// Two phases, run one after the other by `pnpm test`:
//  - "main": every *.test.ts, files in parallel (each isolates itself in its own schema/dir);
//  - "outage": *.outage.test.ts, which stop or restart the shared Postgres server, one file at a time,
//    so no other test is running when the server goes away.
const shared = {
  globals: true,
  testTimeout: 60_000,
  hookTimeout: 120_000,
  pool: "forks" as const,
  // The AWS SDK prints a Node-version notice in every process it loads in; it is noise here.
  env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
};

export default defineConfig({
  resolve: { conditions: ["agentstate-source"] },
  ssr: { resolve: { conditions: ["agentstate-source"] } },
  test: {
    projects: [
      {
        extends: true,
        test: {
          ...shared,
          name: "main",
          include: ["packages/*/test/**/*.test.ts", "examples/**/*.test.ts"],
          exclude: ["**/node_modules/**", "**/*.outage.test.ts"],
          maxWorkers: 2,
        },
      },
      {
        extends: true,
        test: {
          ...shared,
          name: "outage",
          include: ["packages/*/test/**/*.outage.test.ts", "examples/**/*.outage.test.ts"],
          fileParallelism: false,
          maxWorkers: 1,
        },
      },
    ],
  },
});

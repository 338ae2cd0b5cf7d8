import { defineConfig, type ViteUserConfig } from "vitest/config";

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

// In CI each phase also writes a JSON report, summed into one closing line by .ci/run.
const projectFlag = process.argv.indexOf("--project");
const phase = projectFlag >= 0 ? (process.argv[projectFlag + 1] ?? "all") : "all";
const reporters: NonNullable<NonNullable<ViteUserConfig["test"]>["reporters"]> = process.env.CI
  ? ["default", ["json", { outputFile: `.vitest-results/${phase}.json` }]]
  : ["default"];

export default defineConfig({
  resolve: { conditions: ["agentstate-source"] },
  ssr: { resolve: { conditions: ["agentstate-source"] } },
  test: {
    reporters,
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

import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { conditions: ["agentstate-source"] },
  ssr: { resolve: { conditions: ["agentstate-source"] } },
  test: {
    globals: true,
    include: ["packages/*/test/**/*.test.ts", "examples/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    maxWorkers: 2,
  },
});

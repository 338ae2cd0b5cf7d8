import { deltaChannelHistoryTests, validate } from "@langchain/langgraph-checkpoint-validation";
import type { PostgresCheckpointer } from "../src/index.js";
import { targets } from "./helpers.js";

// The official conformance kit, all of validate() plus the opt-in DeltaChannel history suite,
// against a real Postgres server and against the embedded PGlite default.
for (const target of targets) {
  const disposers = new Map<PostgresCheckpointer, () => Promise<void>>();
  const initializer = {
    checkpointerName: `@agentstate/checkpointer (${target.name})`,
    beforeAllTimeout: 60_000,
    async createCheckpointer() {
      const { saver, dispose } = await target.create();
      disposers.set(saver, dispose);
      return saver;
    },
    async destroyCheckpointer(saver: PostgresCheckpointer) {
      await disposers.get(saver)?.();
      disposers.delete(saver);
    },
  };
  validate(initializer);
  deltaChannelHistoryTests(initializer);
}

// Differential semantics suite on Postgres while 50 other threads write through the same saver,
// so the scenarios' writes are combined with theirs (group commit) and finish in any order.
import { pgUp } from "../helpers.js";
import { semanticsSuite } from "./suite.js";
import { postgresUnderLoad } from "./targets.js";

if (pgUp) {
  semanticsSuite(postgresUnderLoad, (opened) => {
    it("the background writers ran alongside, in combined statements, without errors", async () => {
      const load = opened().load!;
      console.log(
        `semantics: ${load.writers} background writers, ${load.checkpoints} checkpoints, ${load.combinedStatements} combined statements`,
      );
      expect(load.errors).toEqual([]);
      expect(load.combinedStatements).toBeGreaterThan(0);
      expect(load.checkpoints).toBeGreaterThan(load.writers);
      // Their own threads are intact: each head holds the count of checkpoints written to it.
      const head = await opened().saver.getTuple({ configurable: { thread_id: "load-0" } });
      expect(head?.checkpoint.channel_values.count).toBe(head?.metadata?.step);
    });
  });
} else it.skip("semantics on postgres-under-load (server unreachable)", () => {});

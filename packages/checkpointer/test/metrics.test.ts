import { createMetrics } from "../src/index.js";
import { toolLoopGraph, userSays } from "./graphs.js";
import { targets } from "./helpers.js";

describe.each(targets)("Prometheus metrics ($name)", (target) => {
  it("records statement latency per operation, gauges, ledger statuses and prune counts", async () => {
    const { saver, dispose } = await target.create();
    try {
      const metrics = await createMetrics(saver, { gaugeMaxAgeMs: 0 });
      const graph = toolLoopGraph(saver, 2);
      await graph.invoke(userSays("m"), { configurable: { thread_id: "m1" } });
      await graph.invoke(userSays("m"), { configurable: { thread_id: "m2" } });
      await saver.db.query(
        `INSERT INTO ${saver.tables.runs} (thread_id, status) VALUES ('m1', 'crashed'), ('m2', 'completed')`,
      );
      await saver.prune({ keepLatest: 1 });
      metrics.recordRecovery("resumed", 1200);
      const text = await metrics.render();
      const value = (line: RegExp) =>
        Number(
          text
            .split("\n")
            .find((l) => line.test(l))
            ?.split(" ")
            .at(-1),
        );
      const checkpoints = (await saver.getCheckpointStats()).totalCheckpoints;
      const count = (op: string) =>
        value(
          new RegExp(
            `^agentstate_checkpoint_operation_duration_seconds_count\\{operation="${op}",outcome="ok"\\}`,
          ),
        ) || 0;
      // writes go alone (put, putWrites) or together with others (writeBatch): each is timed
      expect(count("put")).toBeGreaterThan(0);
      expect(count("put") + count("putWrites") + count("writeBatch")).toBeGreaterThan(8);
      expect(count("getTuple")).toBeGreaterThan(0);
      expect(value(/^agentstate_checkpoints /)).toBe(checkpoints);
      expect(value(/^agentstate_threads /)).toBe(2);
      expect(value(/^agentstate_runs\{status="crashed"\}/)).toBe(1);
      expect(value(/^agentstate_runs\{status="dead"\}/)).toBe(0);
      expect(value(/^agentstate_pruned_total\{kind="checkpoints"\}/)).toBeGreaterThan(0);
      expect(value(/^agentstate_recoveries_total\{outcome="resumed"\}/)).toBe(1);
      expect(value(/^agentstate_storage_bytes\{table="checkpoint_blobs"\}/)).toBeGreaterThan(0);
      metrics.detach();
    } finally {
      await dispose();
    }
  });
});

import { CheckpointerError, getCheckpointer } from "../src/index.js";
import { toolLoopGraph, userSays } from "./graphs.js";
import { DATABASE_URL, pgUp, uniqueSchema } from "./helpers.js";
import { canControlServer, startServer, stopServer } from "./outage.js";

describe.skipIf(!pgUp || !canControlServer)("a database that goes away mid-run", () => {
  afterAll(async () => {
    await startServer(); // never leave the shared server down, whatever happened
  });

  it("fails the run with a clear error, then the same saver recovers and resumes the thread", async () => {
    const schema = uniqueSchema("outage");
    const saver = await getCheckpointer({
      connectionString: DATABASE_URL,
      schema,
      maxConnections: 2,
    });
    const graph = toolLoopGraph(saver, 3);
    const config = { configurable: { thread_id: "outage" }, durability: "sync" as const };
    try {
      await graph.invoke(userSays("warm"), { configurable: { thread_id: "warm" } });
      stopServer();
      const error = await graph.invoke(userSays("go"), config).catch((e) => e);
      await startServer();
      expect(error).toBeInstanceOf(CheckpointerError);
      expect(error.code).toBe("CONNECTION_LOST");
      expect(error.message).toMatch(/connection was lost/);
      // the pool reconnects by itself; the thread (if it got a first checkpoint) or a fresh run completes
      const state = await graph.getState(config);
      const out =
        state.next.length > 0
          ? await graph.invoke(null, config)
          : await graph.invoke(userSays("go"), config);
      expect(out.messages.at(-1)?.content).toBe("finished");
      expect(
        (await graph.getState({ configurable: { thread_id: "warm" } })).values.messages.at(-1)
          ?.content,
      ).toBe("finished");
    } finally {
      await saver.db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
      await saver.end();
    }
  });
});

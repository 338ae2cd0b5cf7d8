// Differential semantics with `storage: "compact"`: the whole shared suite on Postgres, and the
// compact scenarios (growing, edited, forked values) on Postgres, PGlite and with chains of 2,
// each against MemorySaver. Values rebuilt from chains must give identical transcripts.
import { MemorySaver } from "@langchain/langgraph-checkpoint";
import { pgUp } from "../helpers.js";
import { runScenario } from "./runner.js";
import { compactScenarios } from "./scenarios/compact.js";
import { semanticsSuite } from "./suite.js";
import { compactTarget, type Opened } from "./targets.js";

const countCompactRows = async (opened: Opened) => {
  const t = opened.saver.tables;
  const [row] = await opened.saver.run<{ n: number }>(
    "test",
    `SELECT count(*)::int AS n FROM ${t.blobs} WHERE type LIKE 'agentstate-append:%'`,
  );
  return row?.n ?? 0;
};

if (pgUp) semanticsSuite(compactTarget("postgres"));
else it.skip("semantics on postgres-compact (server unreachable)", () => {});

const targets = [
  ...(pgUp ? [compactTarget("postgres"), compactTarget("postgres", { compactMaxChain: 2 })] : []),
  compactTarget("pglite"),
];

for (const target of targets) {
  describe(`compact scenarios on ${target.name}`, () => {
    let opened: Opened;
    beforeAll(async () => {
      opened = await target.open();
    });
    afterAll(() => opened?.close());

    for (const scenario of compactScenarios) {
      it(scenario.name, async () => {
        const oracle = await runScenario(scenario, new MemorySaver());
        const ours = await runScenario(scenario, opened.saver);
        expect(ours).toEqual(oracle);
      });
    }

    it("stored the growing values as chains", async () => {
      expect(await countCompactRows(opened)).toBeGreaterThan(150);
    });
  });
}

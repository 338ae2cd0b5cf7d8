import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LocalS3, ResearchAgent, readEffects, startLocalS3 } from "./src/index.js";

describe("examples/research-agent (the production agent class)", () => {
  let home: string;
  let s3: LocalS3;
  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), "agentstate-research-"));
    s3 = await startLocalS3(join(home, "s3"));
  });
  afterAll(async () => {
    await s3.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it("runs a task to the end under a lease, files land on each route, status and recover agree", async () => {
    const agent = await ResearchAgent.open({
      dataDir: ":memory:",
      projectsDir: join(home, "projects"),
      s3: { endpoint: s3.endpoint, bucket: s3.bucket },
      effectsFile: join(home, "effects.jsonl"),
      leaseSeconds: 5,
    });
    try {
      const nodes: string[] = [];
      await agent.run("r1", "Research durable agent state.", (u) =>
        nodes.push(...Object.keys(u as object)),
      );
      expect(nodes.filter((n) => n === "tools")).toHaveLength(14);
      const state = await agent.state("r1");
      expect(state.messages.at(-1)?.content).toMatch(/^Research complete/);
      expect(readFileSync(join(home, "projects/acme/summary.md"), "utf8")).toContain("# Summary");
      expect(Object.keys(state.files ?? {})).toEqual(["/scratch/draft.txt"]);
      expect(existsSync(join(home, "projects/scratch"))).toBe(false);
      expect(await (await fetch(await agent.shareableUrl("/uploads/report.md"))).text()).toContain(
        "# Durable agents",
      );
      expect(
        readEffects(join(home, "effects.jsonl")).filter((e) => e.phase === "done"),
      ).toHaveLength(6);

      const status = await agent.status("r1");
      expect(status).toMatchObject({ state: "completed", isStuck: false, tracked: true });
      expect((await agent.recover("r1")).status).toBe("not_stuck");
    } finally {
      await agent.close();
    }
  });
});

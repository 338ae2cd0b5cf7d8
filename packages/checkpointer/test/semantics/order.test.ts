// Writes (and the interrupts invoke reports) come back in the order LangGraph made them: five
// subgraphs of one superstep, each interrupting, over a pool of 4 connections and group commit,
// report their interrupts in task order as with MemorySaver — run after run.
import { MemorySaver } from "@langchain/langgraph-checkpoint";
import { CallOrder } from "../../src/order.js";
import { pgUp } from "../helpers.js";
import { runScenario } from "./runner.js";
import { scenarios } from "./scenarios/index.js";
import { type Opened, postgresUnderLoad } from "./targets.js";

describe("CallOrder", () => {
  const later = <T>(value: T, ticks: number, fail = false) =>
    new Promise<T>((resolve, reject) => {
      const settle = (n: number): unknown =>
        n === 0 ? (fail ? reject(value) : resolve(value)) : setImmediate(() => settle(n - 1));
      settle(ticks);
    });

  it("delivers one thread's results in call order, other threads independently", async () => {
    const order = new CallOrder();
    const seen: string[] = [];
    const track = (p: Promise<string>) =>
      p.then(
        (v) => seen.push(v),
        (e) => seen.push(`!${e}`),
      );
    await Promise.all([
      track(order.deliver("t", later("t1", 5))),
      track(order.deliver("t", later("t2", 1, true))),
      track(order.deliver("u", later("u1", 2))),
      track(order.deliver("t", later("t3", 0))),
    ]);
    expect(seen).toEqual(["u1", "t1", "!t2", "t3"]);
  });
});

describe.skipIf(!pgUp)("five interrupting subgraphs on Postgres under load", () => {
  const five = scenarios.find((s) => s.name.startsWith("five children side by side"))!;
  let opened: Opened;
  beforeAll(async () => {
    opened = await postgresUnderLoad.open();
  });
  afterAll(() => opened?.close());

  it.each([1, 2, 3, 4, 5])("run %i: same transcript as MemorySaver", async (run) => {
    const scenario = { ...five, name: `${five.name} #${run}` };
    const oracle = await runScenario(scenario, new MemorySaver());
    expect(await runScenario(scenario, opened.saver)).toEqual(oracle);
  });
});

// Runs one scenario against one saver and returns its normalised transcript: what every step
// returned or streamed, then per thread the final state (with subgraphs), the full history and the
// raw checkpoint tuples with their pending writes.
import { Command } from "@langchain/langgraph";
import type { BaseCheckpointSaver, CheckpointTuple } from "@langchain/langgraph-checkpoint";
import { Normaliser } from "./normalise.js";
import type { Fresh, Graph, Scenario, Step, StepContext } from "./scenario.js";

const fresh = <T>(v: Fresh<T>): T => (typeof v === "function" ? (v as () => T)() : v);

export interface Transcript {
  steps: unknown[];
  threads: unknown[];
}

export async function runScenario(
  scenario: Scenario,
  saver: BaseCheckpointSaver,
): Promise<Transcript> {
  const n = new Normaliser();
  const graph = await scenario.build(saver);
  const prefix = `${scenario.family}/${scenario.name}/`;
  const threads = new Set<string>();
  const config = (thread = "main") => {
    threads.add(thread);
    return { configurable: { thread_id: prefix + thread } as Record<string, unknown> };
  };
  const ctx: StepContext = { graph, saver, config };
  const steps: unknown[] = [];
  for (const step of scenario.script) {
    try {
      steps.push({ op: step.op, result: n.value(await runStep(ctx, step)) });
    } catch (error) {
      steps.push({ op: step.op, error: n.value(error) });
    }
  }
  const dumps: unknown[] = [];
  for (const thread of threads) {
    try {
      dumps.push({ thread, ...(await dumpThread(n, scenario, graph, saver, config(thread))) });
    } catch (error) {
      dumps.push({ thread, error: n.value(error) });
    }
  }
  return { steps, threads: dumps };
}

/** Where a thread ended up: state with subgraphs, full history, raw tuples and pending writes. */
async function dumpThread(
  n: Normaliser,
  scenario: Scenario,
  graph: Graph,
  saver: BaseCheckpointSaver,
  config: { configurable: Record<string, unknown> },
) {
  const history: unknown[] = [];
  for await (const s of graph.getStateHistory(config)) history.push(s);
  const tuples: CheckpointTuple[] = [];
  for await (const t of saver.list(config)) tuples.push(t);
  const state = await graph.getState(config, { subgraphs: true });
  if (scenario.digestOnly) {
    return {
      state: n.value(state),
      historyCount: history.length,
      history: n.value(history.slice(0, 3)),
      tuples: tuples.length,
      writes: tuples.reduce((sum, t) => sum + (t.pendingWrites?.length ?? 0), 0),
    };
  }
  return { state: n.value(state), history: n.value(history), tuples: n.tuples(tuples) };
}

/** The config of the call: the thread's latest checkpoint, or the one `at` names. */
async function callConfig(ctx: StepContext, step: Step) {
  const base = ctx.config(step.thread);
  if (step.at !== undefined) base.configurable = { ...(await checkpointAt(ctx, step, step.at)) };
  return { ...step.config, ...base, configurable: { ...base.configurable, ...configurable(step) } };
}

function configurable(step: Step): Record<string, unknown> {
  return (step.config?.configurable as Record<string, unknown>) ?? {};
}

async function checkpointAt(ctx: StepContext, step: Step, at: number) {
  let i = 0;
  for await (const s of ctx.graph.getStateHistory(ctx.config(step.thread))) {
    if (i++ === at) return s.config.configurable as Record<string, unknown>;
  }
  throw new Error(`no checkpoint at history index ${at}`);
}

async function collect(stream: AsyncIterable<unknown>): Promise<unknown[]> {
  const chunks: unknown[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

async function runStep(ctx: StepContext, step: Step): Promise<unknown> {
  const { graph } = ctx;
  const config = await callConfig(ctx, step);
  switch (step.op) {
    case "invoke":
      return graph.invoke(fresh(step.input), config);
    case "stream":
      return collect(
        await graph.stream(fresh(step.input), {
          ...config,
          streamMode: step.mode,
          subgraphs: step.subgraphs,
        }),
      );
    case "command": {
      const { update, goto, resume } = step.command;
      let value = resume;
      if (step.resumeFrom) {
        const state = await graph.getState(config);
        const interrupts = (state.tasks as Array<{ interrupts: [] }>).flatMap((t) => t.interrupts);
        value = step.resumeFrom(interrupts);
      }
      const command = new Command({
        ...(value !== undefined ? { resume: value } : {}),
        ...(update !== undefined ? { update: fresh(update) as never } : {}),
        ...(goto !== undefined ? { goto: fresh(goto) as never } : {}),
      });
      if (!step.mode) return graph.invoke(command, config);
      return collect(await graph.stream(command, { ...config, streamMode: step.mode }));
    }
    case "update":
      return graph.updateState(config, fresh(step.values), step.asNode);
    case "state":
      return graph.getState(config, { subgraphs: step.subgraphs });
    case "history": {
      const before =
        step.before === undefined
          ? undefined
          : { configurable: await checkpointAt(ctx, step, step.before) };
      const out: unknown[] = [];
      const options = { limit: step.limit, filter: step.filter, before };
      for await (const s of graph.getStateHistory(config, options)) out.push(s);
      return out;
    }
    case "call":
      return step.run(ctx);
  }
}

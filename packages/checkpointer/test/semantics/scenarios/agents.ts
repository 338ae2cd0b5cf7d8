// Prebuilt agents on a scripted chat model: createAgent (langchain) with parallel tool calls and a
// human-in-the-loop approval, and a deep agent (deepagents) with todos and a subagent (`task`).
import { ScriptedChatModel } from "@agentstate/test-support/models";
import { AIMessage, type BaseMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import { z } from "zod";
import { importFromWorkspace } from "../external.js";
import type { Graph, Scenario } from "../scenario.js";

const { createAgent, humanInTheLoopMiddleware } = await importFromWorkspace("langchain");
const { createDeepAgent } = await importFromWorkspace("deepagents");

const add = tool(async ({ a, b }: { a: number; b: number }) => String(a + b), {
  name: "add",
  description: "adds two numbers",
  schema: z.object({ a: z.number(), b: z.number() }),
});

const lookup = tool(async ({ key }: { key: string }) => `value of ${key}`, {
  name: "lookup",
  description: "looks a key up",
  schema: z.object({ key: z.string() }),
});

/** Model turns counted from the AI messages since the last human message. */
function turn(messages: BaseMessage[]): number {
  const lastHuman = messages.findLastIndex((m) => m.getType() === "human");
  return messages.slice(lastHuman + 1).filter((m) => m.getType() === "ai").length;
}

/** Turn 0: three tool calls at once; turn 1: one more; then the answer. */
const toolScript = (messages: BaseMessage[]) => {
  const t = turn(messages);
  if (t === 0) {
    return new AIMessage({
      id: "ai-0",
      content: "",
      tool_calls: [
        { id: "call-a", name: "add", args: { a: 1, b: 2 } },
        { id: "call-b", name: "lookup", args: { key: "k" } },
        { id: "call-c", name: "add", args: { a: 40, b: 2 } },
      ],
    });
  }
  if (t === 1) {
    return new AIMessage({
      id: "ai-1",
      content: "",
      tool_calls: [{ id: "call-d", name: "add", args: { a: 0, b: 0 } }],
    });
  }
  return new AIMessage({ id: `ai-final-${messages.length}`, content: "all done" });
};

const agent = (checkpointer: BaseCheckpointSaver, approve = false): Graph =>
  createAgent({
    model: new ScriptedChatModel(toolScript),
    tools: [add, lookup],
    checkpointer,
    middleware: approve ? [humanInTheLoopMiddleware({ interruptOn: { add: true } })] : [],
  });

/** Main agent: todos and a `task` for the subagent in one turn, then todos done, then answer. */
const deepScript = (messages: BaseMessage[]) => {
  const system = messages.find((m) => m.getType() === "system");
  if (String(system?.content ?? "").includes("RESEARCHER")) {
    return new AIMessage({ id: "sub-answer", content: "research: 42" });
  }
  const t = turn(messages);
  const todos = (status: string) => [
    { content: "research the answer", status },
    { content: "report", status: status === "completed" ? "completed" : "pending" },
  ];
  if (t === 0) {
    return new AIMessage({
      id: "deep-0",
      content: "",
      tool_calls: [
        { id: "todo-1", name: "write_todos", args: { todos: todos("in_progress") } },
        {
          id: "task-1",
          name: "task",
          args: { description: "find the answer", subagent_type: "researcher" },
        },
      ],
    });
  }
  if (t === 1) {
    return new AIMessage({
      id: "deep-1",
      content: "",
      tool_calls: [{ id: "todo-2", name: "write_todos", args: { todos: todos("completed") } }],
    });
  }
  return new AIMessage({ id: "deep-final", content: "the answer is 42" });
};

const deep = (checkpointer: BaseCheckpointSaver): Graph =>
  createDeepAgent({
    model: new ScriptedChatModel(deepScript),
    checkpointer,
    subagents: [
      { name: "researcher", description: "researches", systemPrompt: "You are the RESEARCHER." },
    ],
  });

const ask = (content: string) => () => ({
  messages: [{ role: "user", content, id: `u-${content}` }],
});

export const agents: Scenario[] = [
  {
    name: "createAgent, parallel tool calls",
    family: "agents",
    build: (c) => agent(c),
    script: [
      { op: "invoke", input: ask("compute") },
      { op: "stream", input: ask("again"), mode: "updates" },
    ],
  },
  {
    name: "createAgent, human approval of tool calls",
    family: "agents",
    build: (c) => agent(c, true),
    script: [
      { op: "invoke", input: ask("compute") },
      { op: "state" },
      {
        op: "command",
        command: { resume: { decisions: [{ type: "approve" }, { type: "approve" }] } },
      },
      { op: "command", command: { resume: { decisions: [{ type: "reject", message: "no" }] } } },
    ],
  },
  {
    name: "deep agent, todos and a subagent",
    family: "agents",
    build: deep,
    script: [
      { op: "stream", input: ask("what is the answer?"), mode: "updates", subgraphs: true },
      { op: "state", subgraphs: true },
    ],
  },
];

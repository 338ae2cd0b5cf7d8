import { ScriptedChatModel } from "@agentstate/example-scripted-model";
import { AIMessage, type BaseMessage } from "@langchain/core/messages";

export interface PlannedCall {
  name: string;
  args: Record<string, unknown>;
}

/** The research plan: 14 tool calls, one per model turn, then the answer. */
export const RESEARCH_PLAN: PlannedCall[] = [
  { name: "web_search", args: { query: "why do long-running agents lose work" } },
  { name: "web_search", args: { query: "postgres checkpointing for langgraph" } },
  {
    name: "write_file",
    args: {
      file_path: "/projects/acme/notes.md",
      content: "# Notes\n\n- agents lose work on crashes\n- checkpoints make steps durable\n",
    },
  },
  { name: "web_search", args: { query: "crash recovery exactly once" } },
  { name: "analyze", args: { topic: "failure modes" } },
  {
    name: "write_file",
    args: {
      file_path: "/scratch/draft.txt",
      content: "draft: durability needs leases and fencing\n",
    },
  },
  { name: "read_file", args: { file_path: "/projects/acme/notes.md" } },
  {
    name: "edit_file",
    args: {
      file_path: "/projects/acme/notes.md",
      old_string: "- checkpoints make steps durable",
      new_string: "- checkpoints make steps durable\n- leases tell live runs from crashed ones",
    },
  },
  { name: "web_search", args: { query: "tool side effects idempotency keys" } },
  { name: "ls", args: { path: "/projects/acme" } },
  { name: "grep", args: { pattern: "durable", path: "/projects" } },
  {
    name: "write_file",
    args: {
      file_path: "/uploads/report.md",
      content:
        "# Durable agents\n\nCheckpoints, leases, fencing and receipts make agent runs survive crashes.\n",
    },
  },
  { name: "analyze", args: { topic: "final review" } },
  {
    name: "write_file",
    args: {
      file_path: "/projects/acme/summary.md",
      content: "# Summary\n\nReport uploaded; notes in /projects/acme/notes.md.\n",
    },
  },
];

export const FINAL_ANSWER =
  "Research complete: notes and summary in /projects/acme, report in /uploads/report.md.";

/** Stable tool call ids, so a resumed run (a new process) asks for exactly the same calls. */
export const callId = (turn: number) => `call_${String(turn + 1).padStart(2, "0")}`;

/**
 * The research plan as a script: the next turn is decided from the conversation it is given —
 * the number of tool results so far — never from memory, so a run resumed from a checkpoint in
 * another process continues where the crashed one stopped. No network, no key.
 */
export function researchPlanScript(plan: PlannedCall[] = RESEARCH_PLAN) {
  return (messages: BaseMessage[]): AIMessage => {
    const turn = messages.filter((m) => m.getType() === "tool").length;
    const planned = plan[turn];
    if (!planned) return new AIMessage(FINAL_ANSWER);
    return new AIMessage({
      content: `Step ${turn + 1}: ${planned.name}`,
      tool_calls: [{ id: callId(turn), name: planned.name, args: planned.args, type: "tool_call" }],
    });
  };
}

export class ResearchPlanModel extends ScriptedChatModel {
  constructor(plan: PlannedCall[] = RESEARCH_PLAN) {
    super(researchPlanScript(plan));
  }
}

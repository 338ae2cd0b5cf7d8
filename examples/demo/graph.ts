import { AIMessage, type BaseMessage } from "@langchain/core/messages";
import { END, MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";

/** Research notes, one per step; each step is a checkpoint. Stops after `steps` notes. */
export function notesGraph(checkpointer: BaseCheckpointSaver, steps: number) {
  const count = (s: { messages: BaseMessage[] }) => s.messages.filter((m) => m.getType() === "ai").length;
  return new StateGraph(MessagesAnnotation)
    .addNode("note", async (s) => ({
      messages: [new AIMessage({ content: `note ${count(s) + 1} of ${steps}`, id: `note-${count(s) + 1}` })],
    }))
    .addEdge(START, "note")
    .addConditionalEdges("note", (s) => (count(s) < steps ? "note" : END), ["note", END])
    .compile({ checkpointer });
}

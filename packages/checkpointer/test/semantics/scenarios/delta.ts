// DeltaChannel messages (langgraph 1.7): each checkpoint stores the step's new messages and a
// snapshot every few updates; reads rebuild the list through getDeltaChannelHistory.
import { AIMessage, type BaseMessage, HumanMessage, RemoveMessage } from "@langchain/core/messages";
import {
  Annotation,
  type BaseCheckpointSaver,
  DeltaChannel,
  END,
  interrupt,
  messagesDeltaReducer,
  START,
  StateGraph,
} from "@langchain/langgraph";
import type { Scenario } from "../scenario.js";

const DeltaState = (snapshotFrequency: number) =>
  Annotation.Root({
    messages: () =>
      new DeltaChannel<BaseMessage[], BaseMessage[]>(messagesDeltaReducer as never, {
        snapshotFrequency,
      }),
    turn: Annotation<number>({ reducer: (_a, b) => b, default: () => 0 }),
  });

/** speak → (maybe ask) → echo: two messages per turn. */
const talk = (checkpointer: BaseCheckpointSaver, snapshotFrequency = 2, ask = false) => {
  const State = DeltaState(snapshotFrequency);
  type S = typeof State.State;
  return new StateGraph(State)
    .addNode("speak", (s: S) => ({
      messages: [new AIMessage({ id: `speak-${s.turn}`, content: `turn ${s.turn}` })],
      turn: s.turn + 1,
    }))
    .addNode("ask", (s: S) =>
      ask
        ? {
            messages: [
              new HumanMessage({ id: `ans-${s.turn}`, content: interrupt("more?") as string }),
            ],
          }
        : {},
    )
    .addNode("echo", (s: S) => ({
      messages: [new AIMessage({ id: `echo-${s.turn}`, content: `count ${s.messages.length}` })],
    }))
    .addEdge(START, "speak")
    .addEdge("speak", "ask")
    .addEdge("ask", "echo")
    .addEdge("echo", END)
    .compile({ checkpointer });
};

const say = (text: string) => () => ({
  messages: [new HumanMessage({ id: `h-${text}`, content: text })],
});

export const delta: Scenario[] = [
  {
    name: "five turns, snapshot every 2 updates",
    family: "delta",
    build: (c) => talk(c),
    script: [
      { op: "invoke", input: say("one") },
      { op: "invoke", input: say("two") },
      { op: "stream", input: say("three"), mode: "values" },
      { op: "invoke", input: say("four") },
      { op: "invoke", input: say("five") },
      { op: "state", at: 6 },
    ],
  },
  {
    name: "fork of a delta thread, both branches continued",
    family: "delta",
    build: (c) => talk(c, 3),
    script: [
      { op: "invoke", input: say("a") },
      { op: "invoke", input: say("b") },
      { op: "update", values: say("forked"), at: 5 },
      { op: "invoke", input: null },
      { op: "invoke", input: say("c") },
      { op: "invoke", input: say("b2"), at: 7 },
      { op: "history", limit: 5 },
    ],
  },
  {
    name: "remove a message from a delta channel",
    family: "delta",
    build: (c) => talk(c, 50),
    script: [
      { op: "invoke", input: say("x") },
      { op: "update", values: () => ({ messages: [new RemoveMessage({ id: "speak-0" })] }) },
      { op: "invoke", input: say("y") },
    ],
  },
  {
    name: "interrupt and resume with delta messages",
    family: "delta",
    build: (c) => talk(c, 2, true),
    script: [
      { op: "invoke", input: say("q") },
      { op: "state" },
      { op: "command", command: { resume: "answer" } },
      { op: "invoke", input: say("q2") },
      { op: "command", command: { resume: "answer2" }, mode: "updates" },
    ],
  },
];

// Realistic data for the demo and the test: threads run through the real agent, some of them
// made old by moving their checkpoints' created_at back.
import type { PostgresCheckpointer } from "@agentstate/checkpointer";
import { HumanMessage } from "@langchain/core/messages";
import { buildAgent } from "./agent.js";

export interface SeedThread {
  threadId: string;
  /** User requests run to the end, one after the other (about 4 checkpoints each). */
  turns: number;
  /** The last request asks a human (interrupt()) and stays waiting for the answer. */
  waiting?: boolean;
}

export async function seedThreads(
  checkpointer: PostgresCheckpointer,
  threads: SeedThread[],
): Promise<void> {
  const agent = buildAgent(checkpointer);
  for (const t of threads) {
    for (let i = 1; i <= t.turns; i++) {
      const text = t.waiting && i === t.turns ? `file the notes of turn ${i}` : `question ${i}`;
      await agent.invoke(
        { messages: [new HumanMessage(text)] },
        { configurable: { thread_id: t.threadId } },
      );
    }
  }
}

/**
 * Moves a thread's checkpoints `days` into the past, as if written then; the newest `spare`
 * keep their time (a long-lived thread that is still active).
 */
export async function ageThread(
  checkpointer: PostgresCheckpointer,
  threadId: string,
  days: number,
  spare = 0,
): Promise<void> {
  const t = checkpointer.tables;
  await checkpointer.run(
    "ageThread",
    `UPDATE ${t.checkpoints} SET created_at = now() - make_interval(days => $2::int)
     WHERE thread_id = $1 AND checkpoint_id NOT IN (
       SELECT checkpoint_id FROM ${t.checkpoints} WHERE thread_id = $1
       ORDER BY checkpoint_id DESC LIMIT $3)`,
    [threadId, days, spare],
  );
}

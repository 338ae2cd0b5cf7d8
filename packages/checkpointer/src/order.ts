/**
 * Per-thread delivery order. MemorySaver answers in microtasks, so the calls of one thread
 * complete in the order LangGraph made them, and so do the tasks waiting on them: parallel
 * subgraphs of one superstep finish, stream and report their interrupts in task order. Over a
 * pool (and group commit) statements finish in any order. This delivers each thread's results in
 * call order again while the statements themselves still run concurrently.
 */
export class CallOrder {
  /** Per thread: settles once every call made so far has been delivered. */
  private readonly tails = new Map<string, Promise<void>>();

  /** `work` (already started), delivered only after the thread's earlier calls. */
  deliver<T>(thread: string, work: Promise<T>): Promise<T> {
    work.catch(noop); // a rejection waiting its turn is not an unhandled one
    const previous = this.tails.get(thread);
    const inOrder = previous ? previous.then(() => work) : work;
    const tail = inOrder.then(noop, noop);
    this.tails.set(thread, tail);
    void tail.then(() => {
      if (this.tails.get(thread) === tail) this.tails.delete(thread);
    });
    return inOrder;
  }
}

function noop(): void {}

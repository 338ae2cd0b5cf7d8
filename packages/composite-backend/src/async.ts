// Bounded concurrency for batches, grep and deletes: results in input order, never unbounded work.
/**
 * Runs `fn` over `items` with at most `limit` in flight and hands results back in input order.
 * `stop` sees the ordered prefix of results and can end the run early (grep's match cap); work
 * already started then finishes in the background and its results are dropped.
 */
export function mapOrdered<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
  stop?: (ordered: readonly R[]) => boolean,
): Promise<{ results: R[]; stopped: boolean }> {
  const results: R[] = [];
  if (items.length === 0) return Promise.resolve({ results, stopped: false });
  return new Promise((resolve, reject) => {
    const arrived = new Map<number, R>();
    let next = 0;
    let inFlight = 0;
    let finished = false;
    const finish = (stopped: boolean) => {
      if (finished) return;
      finished = true;
      resolve({ results, stopped });
    };
    const launch = () => {
      while (!finished && inFlight < limit && next < items.length) {
        const index = next++;
        inFlight++;
        fn(items[index]!, index).then(
          (value) => {
            inFlight--;
            if (finished) return;
            arrived.set(index, value);
            while (arrived.has(results.length)) {
              results.push(arrived.get(results.length)!);
              arrived.delete(results.length - 1);
              if (stop?.(results)) return finish(results.length < items.length);
            }
            if (results.length === items.length) return finish(false);
            launch();
          },
          (error: unknown) => {
            inFlight--;
            if (finished) return;
            finished = true;
            reject(error);
          },
        );
      }
    };
    launch();
  });
}

export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  return (await mapOrdered(items, limit, fn)).results;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

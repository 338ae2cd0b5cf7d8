/**
 * Channel versions unique across a thread's branches (langgraphjs #1812). Blobs are keyed by
 * (thread, namespace, channel, version) and the first row stays, so with the default `current + 1`
 * a fork made from a past checkpoint re-issues the versions of the branch it left and reads that
 * branch's values. A version never below a microsecond clock cannot repeat on another branch made
 * later, and stays what LangGraph (which only compares versions) and the official saver (which
 * continues with `current + 1`) need: an integer, increasing along each branch, below 2^53 (until
 * the year 2255). Successive versions are microseconds apart, so even a fork the official saver
 * makes of our thread runs that many steps before its `+ 1`s reach a version we issued.
 */
let last = 0;

export function nextChannelVersion(current: number | string | undefined): number {
  if (typeof current === "string") {
    throw new TypeError(`Channel version "${current}" is a string; this saver uses integers.`);
  }
  // Monotonic within the process (performance.now), anchored to the wall clock.
  const micros = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  last = Math.max(last + 1, micros, (current ?? 0) + 1);
  return last;
}

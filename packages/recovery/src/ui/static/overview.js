// The overview: threads by state (counts; archived ones from the archive index), the stuck list with recover buttons, recently active
// threads, and storage charts (checkpoints and bytes over time, largest threads).
import { barChart, el, formatBytes, hbarChart } from "./charts.js";
import {
  api,
  badge,
  enc,
  recoverButtons,
  section,
  setHeader,
  threadLink,
  when,
  whyDisabled,
} from "./common.js";

const row = (cells) => el("tr", {}, cells);
const head = (names) => el("thead", {}, row(names.map((h) => el("th", {}, h))));

function stateCards(o, current) {
  return el(
    "div",
    { class: "cards" },
    o.states.map((s) =>
      el(
        "a",
        {
          class: `card state-${s}${current === s ? " current" : ""}`,
          href: current === s ? "#/" : `#/state/${enc(s)}`,
          dataset: { state: s },
        },
        el("span", { class: "count" }, String(o.counts[s] ?? 0)),
        el("span", { class: "name" }, s),
      ),
    ),
  );
}

function stuckTable(o) {
  const rows = o.stuck.threads;
  if (rows.length === 0) return el("p", { class: "muted", id: "stuck-empty" }, "Nothing is stuck.");
  const why = whyDisabled(o);
  return el(
    "table",
    { id: "stuck" },
    head(["Thread", "State", "Attempts", "Next", "In flight", "Reason", ""]),
    el(
      "tbody",
      {},
      rows.map((s) =>
        row([
          el("td", {}, threadLink(s.threadId)),
          el(
            "td",
            {},
            badge(s.state),
            s.needsReview ? el("span", { class: "pill" }, "needs review") : null,
          ),
          el("td", { class: "num" }, String(s.attempts)),
          el("td", {}, s.next.join(", ")),
          el("td", {}, s.inFlight.join(", ")),
          el("td", { class: "reason" }, s.reason),
          el("td", {}, recoverButtons(s.threadId, why === null, why)),
        ]),
      ),
    ),
  );
}

/** A threads table: link, state, time, checkpoint count, then the view's own columns. */
function threadTable(list, timeHeader, extra) {
  return el(
    "table",
    { id: "threads" },
    head(["Thread", "State", timeHeader, "Checkpoints", ...extra.headers]),
    el(
      "tbody",
      {},
      list.map((t) =>
        row([
          el("td", {}, threadLink(t.threadId)),
          el("td", {}, badge(t.state)),
          el("td", {}, when(t.lastActivityAt)),
          el("td", { class: "num" }, String(t.checkpoints)),
          ...extra.cells(t),
        ]),
      ),
    ),
  );
}

function threadsTable(list, state) {
  if (state === "archived") {
    // From the archive index: where each file is and how big.
    if (list.length === 0) return el("p", { class: "muted" }, "No archived threads.");
    return threadTable(list, "Archived", {
      headers: ["File size", "Location"],
      cells: (t) => [
        el("td", { class: "num" }, formatBytes(t.bytes)),
        el("td", { class: "mono" }, t.location),
      ],
    });
  }
  if (list.length === 0) return el("p", { class: "muted" }, "No threads.");
  return threadTable(list, "Last activity", {
    headers: ["Attempts", "Last error"],
    cells: (t) => [
      el("td", { class: "num" }, String(t.attempts)),
      el("td", { class: "reason" }, t.lastError ?? ""),
    ],
  });
}

function figure(chart, caption) {
  return el("figure", {}, chart, el("figcaption", {}, caption));
}

function storageView(s, totals) {
  const cut = s.unit === "day" ? [0, 10] : [5, 16];
  const points = (key) =>
    s.buckets.map((b) => ({ label: when(b.at).slice(...cut), value: b[key] }));
  const largest = s.largest.map((t) => ({ label: t.threadId, value: t.bytes }));
  return el(
    "div",
    { class: "storage" },
    el(
      "p",
      {},
      `${totals.threads} threads · ${totals.checkpoints} checkpoints · ${formatBytes(totals.bytes)} on disk (tables and indexes)`,
    ),
    el(
      "div",
      { class: "charts" },
      figure(
        barChart(points("checkpoints"), { label: "checkpoints over time" }),
        `Checkpoints per ${s.unit} (last 30 days)`,
      ),
      figure(
        barChart(points("bytes"), { format: formatBytes, label: "bytes over time" }),
        `Bytes written per ${s.unit}: checkpoint rows and the blobs each introduced`,
      ),
    ),
    figure(
      hbarChart(largest, { format: formatBytes, label: "largest threads" }),
      "Largest threads (checkpoints, blobs and pending writes)",
    ),
  );
}

export async function overviewPage(state) {
  const [o, list, storage] = await Promise.all([
    api("/api/overview"),
    api(`/api/threads?limit=100${state ? `&state=${enc(state)}` : ""}`),
    api("/api/storage"),
  ]);
  setHeader(o);
  const note =
    o.stuck.note ??
    (o.stuck.exact
      ? "Classified through the graph."
      : "From the ledger only (no graph given): threads with no ledger row are not classified.");
  return el(
    "div",
    {},
    el("div", { id: "flash" }),
    section("Threads by state", stateCards(o, state)),
    section("Stuck threads", el("p", { class: "muted" }, note), stuckTable(o)),
    section(
      state ? `Threads: ${state}` : "Recently active threads",
      threadsTable(list.threads, state),
    ),
    section("Storage", storageView(storage, o.totals)),
  );
}

// The thread page: the ledger's story, the timeline (one row per step), the checkpoint list with
// A/B selection, and state diffs; recover, archive and restore buttons. An archived thread shows
// where its file is and a Restore button. Every value is inserted as text.
import { el, formatBytes } from "./charts.js";
import {
  api,
  archiveButton,
  badge,
  enc,
  recoverButtons,
  restoreButton,
  section,
  setHeader,
  when,
  whyDisabled,
} from "./common.js";

const clock = (iso) => (iso ? String(iso).slice(11, 23) : "");

function nodesText(nodes) {
  const counts = new Map();
  for (const n of nodes) counts.set(n, (counts.get(n) ?? 0) + 1);
  return [...counts].map(([n, c]) => (c > 1 ? `${n} ×${c}` : n)).join(", ");
}

function ledgerView(t) {
  const l = t.ledger;
  const rows = [];
  if (!l) rows.push(["ledger", "no row: never run durably nor recovered"]);
  else {
    rows.push(
      ["status", l.status],
      ["owner", l.owner ?? "–"],
      [
        "lease",
        l.leaseUntil ? `${l.leaseLive ? "live" : "expired"} until ${when(l.leaseUntil)}` : "–",
      ],
      ["attempts", String(l.attempts)],
      ["fence", `${l.fence} (claims so far: run starts and recoveries)`],
      ["started", when(l.startedAt)],
      ["updated", when(l.updatedAt)],
    );
    if (l.graphId) rows.push(["graph", l.graphId]);
    if (l.lastRecoveryFrom)
      rows.push(["last recovery", `resumed from checkpoint ${l.lastRecoveryFrom}`]);
    if (l.lastError)
      rows.push(["last error", `${l.errorKind ? `(${l.errorKind}) ` : ""}${l.lastError}`]);
    if (l.reason) rows.push(["reason", l.reason]);
    if (l.needsReview) rows.push(["review", "needs review (non-idempotent tool call in flight)"]);
  }
  for (const r of t.receipts) rows.push([`receipt ${r.toolCallId}`, r.status]);
  if (t.archive?.status === "restored") {
    rows.push([
      "archive",
      `restored ${when(t.archive.restoredAt)} from ${t.archive.location} (archived ${when(t.archive.archivedAt)})`,
    ]);
  }
  if (t.head)
    rows.push(["head", `step ${t.head.step} · ${t.head.checkpointId} · ${when(t.head.time)}`]);
  return el(
    "dl",
    { id: "ledger" },
    rows.map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]),
  );
}

function callText(c) {
  if (c.status === "pending") return `${c.name} ${c.id} ${c.args} → pending`;
  const result = JSON.stringify(c.result);
  const finished = c.status === "finished" ? " (finished; its step has no checkpoint yet)" : "";
  const receipt = c.receipt ? ` [receipt ${c.receipt}]` : "";
  return `${c.name} ${c.id} ${c.args} → ${c.status === "error" ? "error: " : ""}${result}${finished}${receipt}`;
}

function happened(s) {
  const several = new Set(s.writes.map((w) => w.node)).size > 1;
  const lines = [];
  for (const w of s.writes) {
    lines.push(
      el(
        "li",
        { class: "write" },
        el("b", {}, `${several && w.node ? `${w.node} → ` : ""}${w.channel}`),
        ` ${w.preview}`,
      ),
    );
  }
  for (const c of s.toolCalls)
    lines.push(el("li", { class: `call ${c.status}` }, el("b", {}, "tool call "), callText(c)));
  for (const i of s.interrupts) {
    const resumed = i.resumedWith ? ` → resumed with ${i.resumedWith}` : " (waiting)";
    lines.push(
      el(
        "li",
        { class: "interrupt" },
        el("b", {}, `interrupt ${i.node ?? ""} `),
        `${i.value}${resumed}`,
      ),
    );
  }
  for (const e of s.errors)
    lines.push(el("li", { class: "error" }, el("b", {}, `error ${e.node ?? ""} `), e.error));
  for (const e of s.events) lines.push(el("li", { class: "event" }, e));
  if (lines.length === 0) lines.push(el("li", { class: "muted" }, "(no writes)"));
  return el("ul", { class: "happened" }, lines);
}

function timelineTable(t, showDiff) {
  const rows = t.steps.map((s) =>
    el(
      "tr",
      { dataset: { step: String(s.step) } },
      el("td", { class: "num" }, String(s.step)),
      el("td", { title: s.time ?? "" }, clock(s.time)),
      el("td", {}, nodesText(s.nodes), s.source === "update" ? " (update)" : ""),
      el("td", {}, happened(s)),
      el(
        "td",
        {},
        s.parentId
          ? el(
              "button",
              {
                type: "button",
                class: "small",
                title: "what changed in the state at this step",
                onclick: () => showDiff(s.parentId, s.checkpointId),
              },
              "diff",
            )
          : null,
      ),
    ),
  );
  if (t.inFlight) {
    rows.push(
      el(
        "tr",
        { class: "in-flight", dataset: { step: String(t.inFlight.step) } },
        el("td", { class: "num" }, String(t.inFlight.step)),
        el("td", {}, "in flight"),
        el("td", {}, nodesText(t.inFlight.nodes)),
        el("td", {}, happened(t.inFlight)),
        el("td", {}),
      ),
    );
  }
  const notes = [];
  if (t.truncated)
    notes.push(el("p", { class: "muted" }, "Older steps are not shown (the last 100 are)."));
  if (t.offBranch)
    notes.push(
      el("p", { class: "muted" }, `${t.offBranch} checkpoint(s) on other branches (forks).`),
    );
  return [
    el(
      "table",
      { id: "timeline" },
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          ["Step", "Time", "Node(s)", "What happened", ""].map((h) => el("th", {}, h)),
        ),
      ),
      el("tbody", {}, rows),
    ),
    ...notes,
  ];
}

function historyTable(h, showDiff) {
  if (h.checkpoints.length === 0) return el("p", { class: "muted" }, "No checkpoints.");
  const picked = { a: h.checkpoints[1]?.checkpointId, b: h.checkpoints[0]?.checkpointId };
  const radio = (which, id) => {
    const input = el("input", {
      type: "radio",
      name: `pick-${which}`,
      value: id,
      "aria-label": `${which} ${id}`,
    });
    input.checked = picked[which] === id;
    input.addEventListener("change", () => {
      picked[which] = id;
    });
    return input;
  };
  const table = el(
    "table",
    { id: "history" },
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        ["A", "B", "Step", "Source", "Time", "Node(s)", "Checkpoint", "Parent"].map((x) =>
          el("th", {}, x),
        ),
      ),
    ),
    el(
      "tbody",
      {},
      h.checkpoints.map((c) =>
        el(
          "tr",
          { class: c.onBranch ? "" : "fork" },
          el("td", {}, radio("a", c.checkpointId)),
          el("td", {}, radio("b", c.checkpointId)),
          el("td", { class: "num" }, String(c.step)),
          el("td", {}, c.source),
          el("td", {}, when(c.time)),
          el("td", {}, c.nodes ? nodesText(c.nodes) : "?"),
          el("td", { class: "mono" }, c.checkpointId, c.onBranch ? "" : " (fork)"),
          el("td", { class: "mono" }, c.parentId ?? "–"),
        ),
      ),
    ),
  );
  const compare = el("button", { type: "button", id: "compare" }, "Compare A → B");
  compare.addEventListener("click", () => picked.a && picked.b && showDiff(picked.a, picked.b));
  return [
    table,
    el("p", {}, compare),
    h.truncated ? el("p", { class: "muted" }, "Older checkpoints are not shown.") : null,
  ];
}

function diffView(d) {
  const head = `State diff: step ${d.from.step} → step ${d.to.step}`;
  if (d.channels.length === 0)
    return el("div", { class: "diff" }, el("h3", {}, head), el("p", {}, "No change in the state."));
  return el(
    "div",
    { class: "diff" },
    el("h3", {}, head),
    d.channels.map((c) => {
      const lines = [];
      if (c.messages) {
        for (const m of c.messages.added) lines.push(el("li", { class: "added" }, `+ ${m}`));
        for (const m of c.messages.removed) lines.push(el("li", { class: "removed" }, `− ${m}`));
        for (const m of c.messages.changed) lines.push(el("li", { class: "changed" }, `~ ${m}`));
      } else {
        if (c.before !== null) lines.push(el("li", { class: "removed" }, `before: ${c.before}`));
        if (c.after !== null) lines.push(el("li", { class: "added" }, `after: ${c.after}`));
      }
      return el(
        "div",
        { class: "channel" },
        el("h4", {}, `${c.channel} (${c.change})`),
        el("ul", {}, lines),
      );
    }),
  );
}

function archiveView(a) {
  const rows = [
    ["location", a.location],
    ["file", a.objectKey],
    ["size", `${formatBytes(a.bytes)} (gzip) · sha256 ${a.sha256}`],
    ["archived", when(a.archivedAt)],
    [
      "rows",
      Object.entries(a.counts)
        .map(([k, n]) => `${k} ${n}`)
        .join(" · "),
    ],
  ];
  return el(
    "dl",
    { id: "archive" },
    rows.map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]),
  );
}

/** The archive control of a hot thread: the button, or why there is none. */
function archiveControl(t, o) {
  if (!o.archiveTo) {
    return el(
      "p",
      { class: "muted", id: "archive-note" },
      "Archiving is off: start the dashboard with --archive-to <url> (or set AGENTSTATE_ARCHIVE_URL).",
    );
  }
  const why = o.readOnly ? "read-only dashboard (--read-only)" : null;
  return el(
    "span",
    { title: `archive to ${o.archiveTo}` },
    archiveButton(t.threadId, t.actions.canArchive, why),
  );
}

function archivedPage(t, o) {
  const why = o.readOnly ? "read-only dashboard (--read-only)" : null;
  return el(
    "div",
    {},
    el("p", {}, el("a", { href: "#/" }, "← all threads")),
    el("h1", { id: "thread-id" }, t.threadId),
    el(
      "p",
      { class: "state-line" },
      badge("archived", "thread-state"),
      " ",
      el("span", { id: "thread-reason" }, t.reason),
    ),
    el("div", { class: "actions" }, restoreButton(t.threadId, t.actions.canRestore, why)),
    el("div", { id: "flash" }),
    section(
      "Archive",
      archiveView(t.archive),
      el(
        "p",
        { class: "muted" },
        "Its checkpoints, ledger row and receipts are in this file, not in Postgres: restore the thread to see its timeline.",
      ),
    ),
  );
}

/** States in which neither button has anything to do. */
const SETTLED = new Set(["completed", "waiting", "running"]);

export async function threadPage(id) {
  const [t, h, o] = await Promise.all([
    api(`/api/thread?id=${enc(id)}`),
    api(`/api/history?id=${enc(id)}`).catch(() => ({ checkpoints: [], truncated: false })),
    api("/api/overview"),
  ]);
  setHeader(o);
  if (t.state === "archived") return archivedPage(t, o);
  const diffBox = el("div", { id: "diff" });
  const showDiff = async (a, b) => {
    diffBox.replaceChildren(el("p", { class: "muted" }, "Loading diff…"));
    try {
      diffBox.replaceChildren(
        diffView(await api(`/api/diff?id=${enc(id)}&a=${enc(a)}&b=${enc(b)}`)),
      );
    } catch (e) {
      diffBox.replaceChildren(el("p", { class: "flash error" }, e.message));
    }
    diffBox.scrollIntoView({ block: "nearest" });
  };
  const why = whyDisabled(o) ?? (SETTLED.has(t.state) ? `nothing to recover: ${t.state}` : null);
  return el(
    "div",
    {},
    el("p", {}, el("a", { href: "#/" }, "← all threads")),
    el("h1", { id: "thread-id" }, t.threadId),
    el(
      "p",
      { class: "state-line" },
      badge(t.state, "thread-state"),
      " ",
      el("span", { id: "thread-reason" }, t.reason),
      t.exact ? null : el("span", { class: "muted" }, " (classified without the graph)"),
    ),
    el(
      "div",
      { class: "actions" },
      recoverButtons(t.threadId, why === null, why),
      " ",
      archiveControl(t, o),
    ),
    el("div", { id: "flash" }),
    section("Ledger", ledgerView(t)),
    section("Timeline", timelineTable(t, showDiff)),
    section("Checkpoints", historyTable(h, showDiff), diffBox),
  );
}

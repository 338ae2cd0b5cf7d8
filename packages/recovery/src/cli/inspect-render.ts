// Text forms of inspect, history and --diff for the terminal (the --json forms are the objects).
import type { ThreadInspection, TimelineStep, ToolCallView } from "../inspect.js";
import { formatNodes } from "../inspect-chain.js";
import type { CheckpointDiff, ThreadHistory } from "../inspect-history.js";
import { formatDate, pairs, table } from "./output.js";

const clock = (iso: string | null) => (iso ? iso.slice(11, 23) : "");
const dash = (v: unknown) => (v === null || v === undefined || v === "" ? "-" : String(v));

function callLine(c: ToolCallView): string {
  const result =
    c.status === "pending"
      ? "pending"
      : c.status === "finished"
        ? `${JSON.stringify(c.result)} (finished; its step has no checkpoint yet)`
        : `${c.status === "error" ? "error: " : ""}${JSON.stringify(c.result)}`;
  const receipt = c.receipt ? ` [receipt ${c.receipt}]` : "";
  return `call ${c.name} ${c.id} ${c.args} → ${result}${receipt}`;
}

function details(
  s: Pick<TimelineStep, "writes" | "toolCalls" | "interrupts" | "errors" | "events" | "nodes">,
): string[] {
  const several = new Set(s.writes.map((w) => w.node)).size > 1;
  const lines = s.writes.map(
    (w) => `${several && w.node ? `${w.node}: ` : ""}${w.channel}: ${w.preview}`,
  );
  for (const c of s.toolCalls) lines.push(callLine(c));
  for (const i of s.interrupts) {
    lines.push(
      `interrupt ${dash(i.node)}: ${i.value}${i.resumedWith ? ` → resumed with ${i.resumedWith}` : " (waiting)"}`,
    );
  }
  for (const e of s.errors) lines.push(`error ${dash(e.node)}: ${e.error}`);
  for (const e of s.events) lines.push(`» ${e}`);
  return lines.length ? lines : ["(no writes)"];
}

/** The timeline: one block per step, detail lines under the node column. */
export function renderTimeline(r: ThreadInspection): string {
  const rows: Array<[string, string, string, string[]]> = r.steps.map((s) => [
    String(s.step),
    clock(s.time),
    formatNodes(s.nodes) + (s.source === "update" ? " (update)" : ""),
    details(s),
  ]);
  if (r.inFlight) {
    rows.push([
      String(r.inFlight.step),
      "(in flight)",
      formatNodes(r.inFlight.nodes) || "-",
      details(r.inFlight),
    ]);
  }
  const w = [4, 12, Math.min(28, Math.max(7, ...rows.map((x) => x[2].length)))];
  const pad = (cells: string[]) =>
    `${cells[0]!.padStart(w[0]!)}  ${cells[1]!.padEnd(w[1]!)}  ${cells[2]!.padEnd(w[2]!)}  ${cells[3] ?? ""}`.trimEnd();
  const indent = " ".repeat(w[0]! + w[1]! + w[2]! + 6);
  const out = [pad(["STEP", "TIME", "NODE(S)", "WHAT HAPPENED"])];
  for (const [step, time, nodes, lines] of rows) {
    out.push(pad([step, time, nodes, lines[0] ?? ""]));
    for (const line of lines.slice(1)) out.push(`${indent}${line}`);
  }
  return out.join("\n");
}

export function renderInspection(r: ThreadInspection): string {
  const l = r.ledger;
  const head = r.head
    ? `step ${r.head.step} · ${r.head.checkpointId} · ${r.head.time?.replace("T", " ") ?? ""}`
    : "no checkpoint";
  const info: Array<[string, string | number | null]> = [
    ["thread", r.threadId],
    [
      "state",
      `${r.state}: ${r.reason}${r.exact ? "" : " (without the graph: pass --graph for exact classification)"}`,
    ],
    ["head", head],
  ];
  if (l) {
    info.push(
      [
        "ledger",
        `${l.status} · owner ${dash(l.owner)} · attempts ${l.attempts} · fence ${l.fence} (claims so far)${l.needsReview ? " · needs review" : ""}`,
      ],
      [
        "lease",
        l.leaseUntil
          ? `${l.leaseLive ? "live" : "expired"} until ${formatDate(l.leaseUntil)}`
          : "-",
      ],
      [
        "started",
        `${formatDate(l.startedAt)} · updated ${formatDate(l.updatedAt)}${l.graphId ? ` · graph ${l.graphId}` : ""}`,
      ],
    );
    if (l.lastRecoveryFrom)
      info.push(["recovered", `last recovery resumed from ${l.lastRecoveryFrom}`]);
    if (l.lastError)
      info.push(["last error", `${l.errorKind ? `(${l.errorKind}) ` : ""}${l.lastError}`]);
    if (l.reason) info.push(["reason", l.reason]);
  } else info.push(["ledger", "no row (never run durably nor recovered)"]);
  if (r.receipts.length)
    info.push(["receipts", r.receipts.map((x) => `${x.toolCallId} ${x.status}`).join(", ")]);
  const notes = [
    r.truncated ? `(older steps not shown: raise --limit)` : "",
    r.offBranch ? `(${r.offBranch} checkpoint(s) on other branches: see agentstate history)` : "",
  ].filter(Boolean);
  return [pairs(info), "", renderTimeline(r), ...notes].join("\n");
}

export function renderHistory(h: ThreadHistory): string {
  return [
    table(
      ["CHECKPOINT", "STEP", "SOURCE", "TIME", "PARENT", "NODE(S)"],
      h.checkpoints.map((c) => [
        `${c.checkpointId}${c.onBranch ? "" : " (fork)"}`,
        c.step,
        c.source,
        c.time?.replace("T", " ") ?? "",
        c.parentId ?? "-",
        c.nodes ? formatNodes(c.nodes) : "?",
      ]),
    ),
    h.truncated ? "(older checkpoints not shown: raise --limit)" : "",
  ]
    .filter(Boolean)
    .join("\n");
}

export function renderDiff(d: CheckpointDiff): string {
  const out = [
    `from step ${d.from.step} (${d.from.checkpointId}) to step ${d.to.step} (${d.to.checkpointId})`,
  ];
  if (d.channels.length === 0) out.push("no change in the state");
  for (const c of d.channels) {
    out.push("", `${c.channel}: ${c.change}`);
    if (c.messages) {
      for (const m of c.messages.added) out.push(`  + ${m}`);
      for (const m of c.messages.removed) out.push(`  - ${m}`);
      for (const m of c.messages.changed) out.push(`  ~ ${m}`);
    } else {
      if (c.before !== null) out.push(`  before: ${c.before}`);
      if (c.after !== null) out.push(`  after:  ${c.after}`);
    }
  }
  return out.join("\n");
}

// What the dashboard's views share: the token-carrying API call, links, badges, the one-shot
// message after an action, and the recover / force-recover, archive and restore buttons.
import { el, formatBytes } from "./charts.js";

const TOKEN_KEY = "agentstate-token";
const query = new URLSearchParams(location.search);
if (query.has("token")) {
  sessionStorage.setItem(TOKEN_KEY, query.get("token") ?? "");
  // Keep the token out of the address bar, the history and screenshots.
  history.replaceState(null, "", location.pathname + location.hash);
}

/** Calls the API with the token; throws with the server's message on an error status. */
export async function api(path, body) {
  const res = await fetch(path, {
    method: body ? "POST" : "GET",
    headers: {
      "X-Agentstate-Token": sessionStorage.getItem(TOKEN_KEY) ?? "",
      ...(body ? { "Content-Type": "application/json" } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const error = new Error(data.error?.message ?? `${res.status} ${res.statusText}`);
    error.code = data.error?.code;
    throw error;
  }
  return data;
}

export const enc = encodeURIComponent;
export const when = (iso) =>
  iso
    ? String(iso)
        .replace("T", " ")
        .replace(/\.\d+Z$/, "Z")
    : "–";
export const threadLink = (id) => el("a", { href: `#/thread/${enc(id)}`, class: "thread" }, id);
export const badge = (state, id) => el("span", { class: `badge state-${state}`, id }, state);
export const section = (title, ...body) => el("section", {}, el("h2", {}, title), ...body);

let flash = null; // the last action's outcome, shown once after the re-render
let rerender = async () => {};

/** The router registers how to redraw the page after an action. */
export function onAction(fn) {
  rerender = fn;
}

export function showFlash(clear = false) {
  const box = document.getElementById("flash");
  if (box && flash) box.replaceChildren(el("p", { class: `flash ${flash.kind}` }, flash.text));
  if (clear) flash = null;
}

function describeResult(r) {
  const outcome = r.outcome ? ` → ${r.outcome}` : "";
  return `${r.threadId}: ${r.status}${outcome}${r.error ? ` (${r.error})` : ""} — ${r.reason}`;
}

async function recover(threadId, force, buttons) {
  for (const b of buttons) b.disabled = true;
  flash = { kind: "info", text: `${force ? "Force-recovering" : "Recovering"} ${threadId}…` };
  showFlash();
  try {
    const { result } = await api("/api/recover", { threadId, force });
    const ok = result.status === "resumed" && result.outcome !== "failed";
    flash = { kind: ok ? "ok" : "warn", text: describeResult(result) };
  } catch (e) {
    flash = { kind: "error", text: `${threadId}: ${e.message}` };
  }
  await rerender();
}

/** Recover / force-recover: each a POST with the token; disabled (with the reason) when not allowed. */
export function recoverButtons(threadId, allowed, why) {
  const title = allowed ? undefined : why;
  const buttons = [
    el("button", { class: "recover", type: "button", disabled: !allowed, title }, "Recover"),
    el(
      "button",
      { class: "force-recover", type: "button", disabled: !allowed, title },
      "Force recover",
    ),
  ];
  buttons[0].addEventListener("click", () => recover(threadId, false, buttons));
  buttons[1].addEventListener("click", () => recover(threadId, true, buttons));
  return el("span", { class: "buttons" }, buttons);
}

/** Runs one POST action, then redraws the page with its outcome in the flash. */
async function act(buttons, pending, call, describe) {
  for (const b of buttons) b.disabled = true;
  flash = { kind: "info", text: pending };
  showFlash();
  try {
    flash = describe(await call());
  } catch (e) {
    if (e.code === "CONFIRM_REQUIRED") {
      flash = null;
      document.getElementById("flash")?.replaceChildren();
      throw e;
    }
    flash = { kind: "error", text: e.message };
  }
  await rerender();
}

function archiveOutcome(threadId, r) {
  if (r.outcome === "archived") {
    return { kind: "ok", text: `${threadId}: archived to ${r.location} (${formatBytes(r.bytes)})` };
  }
  const why = r.reason ?? r.error?.message ?? "";
  return { kind: "warn", text: `${threadId}: ${r.outcome}${why ? ` — ${why}` : ""}` };
}

/**
 * The Archive button (POST /api/archive with the token). A thread whose run may be unfinished
 * (running, waiting, crashed, dead) is refused first; the user can then "Archive anyway".
 */
export function archiveButton(threadId, allowed, why) {
  const button = el(
    "button",
    { class: "archive", type: "button", disabled: !allowed, title: allowed ? undefined : why },
    "Archive",
  );
  const confirm = el("span", { class: "confirm", id: "archive-confirm" });
  const run = (force) =>
    act(
      [button],
      `Archiving ${threadId}…`,
      async () => (await api("/api/archive", { threadId, force })).result,
      (r) => archiveOutcome(threadId, r),
    );
  button.addEventListener("click", () =>
    run(false).catch((e) => {
      // CONFIRM_REQUIRED: say why and offer "Archive anyway" (which sends force: true).
      button.disabled = false;
      const anyway = el("button", { class: "archive-anyway", type: "button" }, "Archive anyway");
      const cancel = el("button", { type: "button" }, "Cancel");
      anyway.addEventListener("click", () => run(true));
      cancel.addEventListener("click", () => confirm.replaceChildren());
      confirm.replaceChildren(el("span", { class: "flash warn" }, e.message), anyway, cancel);
    }),
  );
  return el("span", { class: "buttons" }, button, confirm);
}

/** The Restore button of an archived thread (POST /api/restore with the token). */
export function restoreButton(threadId, allowed, why) {
  const button = el(
    "button",
    { class: "restore", type: "button", disabled: !allowed, title: allowed ? undefined : why },
    "Restore",
  );
  button.addEventListener("click", () =>
    act(
      [button],
      `Restoring ${threadId}…`,
      async () => (await api("/api/restore", { threadId })).result,
      (r) =>
        r.outcome === "failed"
          ? { kind: "error", text: `${threadId}: ${r.error?.message ?? "failed"}` }
          : { kind: "ok", text: `${threadId}: ${r.outcome} from ${r.location}` },
    ),
  );
  return el("span", { class: "buttons" }, button);
}

/** Why the buttons are off for the whole dashboard, or null when they work. */
export const whyDisabled = (o) =>
  o.readOnly
    ? "read-only dashboard (--read-only)"
    : o.graphs.length === 0
      ? "started without a graph: pass --graph to recover"
      : null;

export function setHeader(o) {
  document.getElementById("target").textContent = o.target;
  const mode = [
    o.readOnly ? "read-only" : "",
    o.graphs.length ? `graphs: ${o.graphs.join(", ")}` : "no graph",
    o.archiveTo ? `archive: ${o.archiveTo}` : "",
  ];
  document
    .getElementById("mode")
    .replaceChildren(...mode.filter(Boolean).map((m) => el("span", { class: "pill" }, m)));
}

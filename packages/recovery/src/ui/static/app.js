// The dashboard's router: #/ (overview), #/state/<state> (overview filtered), #/thread/<id>.
// Views come from overview.js and thread.js; every value they show is inserted as text.
import { el } from "./charts.js";
import { onAction, showFlash } from "./common.js";
import { overviewPage } from "./overview.js";
import { threadPage } from "./thread.js";

let rendering = 0;

async function render() {
  const app = document.getElementById("app");
  const mine = ++rendering;
  const hash = location.hash.slice(1) || "/";
  const page = hash.startsWith("/thread/") ? "thread" : "overview";
  try {
    const view =
      page === "thread"
        ? await threadPage(decodeURIComponent(hash.slice("/thread/".length)))
        : await overviewPage(
            hash.startsWith("/state/") ? decodeURIComponent(hash.slice("/state/".length)) : null,
          );
    if (mine !== rendering) return;
    app.replaceChildren(view);
    showFlash(true);
  } catch (e) {
    if (mine !== rendering) return;
    const hint =
      e.code === "FORBIDDEN" ? " Open the URL with ?token=… that `agentstate ui` printed." : "";
    app.replaceChildren(el("p", { class: "flash error", id: "error" }, `${e.message}${hint}`));
  }
  app.dataset.page = page;
  app.dataset.ready = String(mine);
}

onAction(render);
window.addEventListener("hashchange", render);
render();

// The review page: hash routes #/ (assets), #/search?q=…&kind=…, #/asset/ID?t=SECONDS, #/people; the queue status.
import { request, el } from "./api.js";
import { showSearch, showHome } from "./search.js";
import { showAsset } from "./asset.js";
import { showPeople } from "./people.js";

const views = ["home-view", "search-view", "asset-view", "people-view"];

function show(id) {
  for (const v of views) document.getElementById(v).hidden = v !== id;
}

function parseHash() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query = ""] = hash.split("?");
  return { parts: path.split("/").filter(Boolean), params: new URLSearchParams(query) };
}

async function route() {
  const { parts, params } = parseHash();
  if (parts[0] === "asset" && /^\d+$/.test(parts[1] || "")) {
    show("asset-view");
    const t = Number.parseFloat(params.get("t"));
    await showAsset(Number(parts[1]), Number.isFinite(t) ? t : null);
  } else if (parts[0] === "people") {
    show("people-view");
    await showPeople();
  } else if (parts[0] === "search" && params.get("q")) {
    show("search-view");
    document.getElementById("q").value = params.get("q");
    document.getElementById("kind").value = params.get("kind") || "";
    await showSearch(params.get("q"), params.get("kind") || "");
  } else {
    show("home-view");
    await showHome();
  }
}

document.getElementById("search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const q = document.getElementById("q").value.trim();
  if (!q) return;
  const params = new URLSearchParams({ q });
  const kind = document.getElementById("kind").value;
  if (kind) params.set("kind", kind);
  const target = `#/search?${params}`;
  if (location.hash === target) route(); else location.hash = target;
});

// ---- the watch/ingest queue (the same document `cogvlm-media status --json` prints)
const statusLine = document.getElementById("status-toggle");
const statusPanel = document.getElementById("status-panel");

function runRows(title, runs, reason) {
  if (!runs.length) return null;
  return el("div", { class: "status-section" }, el("h4", { text: `${title} (${runs.length})` }),
    el("ul", {}, runs.map((r) => el("li", {},
      el("span", { class: "job", text: `#${r.id}` }), " ", el("span", { class: "path", text: r.path }),
      reason(r) ? el("div", { class: "reason", text: reason(r) }) : null))));
}

async function refreshStatus() {
  try {
    const doc = await request("/status?limit=20");
    const c = doc.counts;
    statusLine.textContent = `queue: ${c.queued} queued · ${c.running} running · ${c.failed} failed · ${c.quarantined} quarantined`;
    statusLine.classList.toggle("alert", c.failed + c.quarantined > 0);
    const sections = [  // an empty section is left out (replaceChildren would write a null as the text "null")
      runRows("running", doc.running, (r) => `${r.stage || ""} attempt ${r.attempts}/${r.max_attempts}`),
      runRows("queued", doc.queued, () => ""),
      runRows("failed, will retry", doc.retrying, (r) => `${r.error || ""} (next try ${r.next_attempt_at || "soon"})`),
      runRows("quarantined", doc.quarantined, (r) => r.error || "no reason recorded"),
    ].filter(Boolean);
    if (!sections.length) sections.push(el("p", { class: "muted", text: "Nothing queued, running or failed." }));
    statusPanel.replaceChildren(...sections,
      el("p", { class: "muted", text: "Retry quarantined files with `cogvlm-media retry --quarantined`." }));
  } catch (err) {
    statusLine.textContent = `queue: unavailable (${err.message})`;
  }
}

statusLine.addEventListener("click", () => {
  statusPanel.hidden = !statusPanel.hidden;
  statusLine.setAttribute("aria-expanded", String(!statusPanel.hidden));
});

window.addEventListener("hashchange", route);
route();
refreshStatus();
setInterval(() => { if (!document.hidden) refreshStatus(); }, 5000);

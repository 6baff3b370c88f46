"use strict";
/* The panel's UI: an asset list for the open project's media, a search box, and the three actions.
   All Premiere access is in src/host.js, all maths in src/logic.js. Runs only inside Premiere (UXP). */
const ppro = require("premierepro");
const host = require("./src/host.js");
const { Client, DEFAULT_URL } = require("./src/api.js");

const $ = (id) => document.getElementById(id);
let media = [];
let selected = null;

function client() {
  const url = ($("server").value || "").trim() || localStorage.getItem("cogvlm-media.server") || DEFAULT_URL;
  localStorage.setItem("cogvlm-media.server", url);
  return new Client(url, localStorage.getItem("cogvlm-media.token") || "");
}

function status(text) { $("status").textContent = text; }

async function run(action) {
  status("Working…");
  try { status((await action()).text()); } catch (err) { status(err.message || String(err)); }
}

function render(filter) {
  const list = $("assets");
  list.innerHTML = "";
  for (const m of media) {
    if (filter && !filter.has(m.path) && !m.name.toLowerCase().includes(filter.text)) continue;
    const li = document.createElement("li");
    li.textContent = m.name;
    const info = document.createElement("span");
    info.className = "muted";
    info.textContent = m.asset ? `  ${m.asset.fps_num}/${m.asset.fps_den} fps` : "  not in the archive";
    li.appendChild(info);
    if (selected === m.path) li.className = "selected";
    li.addEventListener("click", () => { selected = m.path; render(filter); });
    list.appendChild(li);
  }
}

async function refresh() {
  const project = await ppro.Project.getActiveProject();
  if (!project) { status("No project is open."); return; }
  const found = await host.projectMedia(ppro, project);
  const matched = await client().match(found.map((m) => ({ key: m.path, path: m.path })));
  media = found.map((m, i) => ({ name: m.name, path: m.path, asset: matched[i].asset }));
  status(`${media.filter((m) => m.asset).length} of ${media.length} clips are in the archive`);
  render(null);
}

async function search() {
  const text = $("search").value.trim().toLowerCase();
  if (!text) { render(null); return; }
  const hits = (await client().search(text)).hits || [];
  const ids = new Set(hits.map((h) => h.asset_id));
  render({ text, has: (path) => media.some((m) => m.path === path && m.asset && ids.has(m.asset.id)) });
}

$("refresh").addEventListener("click", () => run(async () => { await refresh(); return { text: () => $("status").textContent }; }));
$("search").addEventListener("change", () => search().catch((err) => status(err.message)));
$("to-sequence").addEventListener("click", () => run(() => host.addToSequence(ppro, client())));
$("to-clip").addEventListener("click", () => run(() => {
  if (!selected) throw new Error("Pick a clip in the list first.");
  return host.addToClip(ppro, client(), selected);
}));
$("send").addEventListener("click", () => run(() => host.sendEdits(ppro, client(), { clipPaths: media.filter((m) => m.asset).map((m) => m.path) })));
$("server").value = localStorage.getItem("cogvlm-media.server") || DEFAULT_URL;
refresh().catch((err) => status(err.message || String(err)));

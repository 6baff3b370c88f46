// The asset view: player, scene strip with markers, shot filmstrip, marker list with inline editing.
import { request, el, timecode, colourOf } from "./api.js";
import { renderFaceStrip } from "./people.js";

const player = document.getElementById("player");
const mediaError = document.getElementById("media-error");
const sceneStrip = document.getElementById("scene-strip");
const markerStrip = document.getElementById("marker-strip");
const playhead = document.getElementById("playhead");
const playheadTc = document.getElementById("playhead-tc");
const list = document.getElementById("marker-list");
let doc = null;
let formats = null;

const fps = () => doc.asset.fps.value;
const pct = (t) => `${Math.max(0, Math.min(100, (100 * t) / (doc.asset.duration || 1)))}%`;

export function seek(t) {
  if (player.readyState >= 1) player.currentTime = t;
  else player.addEventListener("loadedmetadata", () => { player.currentTime = t; }, { once: true });
}

function startTimecode(t) {
  // label at the file's start timecode when it has one (the server's labels are exact; this is for the playhead)
  const startTc = doc.asset.start_timecode;
  if (!startTc) return timecode(t, fps());
  const [h, m, s, f] = startTc.split(/[:;.]/).map(Number);
  const nominal = Math.round(fps());
  return timecode(t + (((h * 60 + m) * 60 + s) * nominal + f) / fps(), fps());
}

function renderTimeline() {
  sceneStrip.replaceChildren(...doc.scenes.map((s, i) => {
    const block = el("button", { type: "button", class: `scene scene-${i % 2}`, title: `${s.start_tc} ${s.title}`,
      text: s.title, onclick: () => seek(s.start) });
    block.style.left = pct(s.start);
    block.style.width = pct(s.end - s.start);
    return block;
  }));
  markerStrip.replaceChildren(...doc.markers.filter((m) => m.kind !== "scene").map((m) => {
    const tick = el("button", { type: "button", class: `tick${m.verified ? " verified" : ""}`,
      title: `${m.timecode} ${m.name}${m.verified ? " (verified)" : ""}`, dataset: { markerId: m.id },
      onclick: () => seek(m.time) });
    tick.style.left = pct(m.time);
    tick.style.background = colourOf(m.colour);
    return tick;
  }));
}

function renderFilmstrip() {
  const strip = document.getElementById("filmstrip");
  strip.replaceChildren(...doc.shots.map((s) => el("button", { type: "button", class: "shot", title: `shot ${s.index + 1} at ${s.start_tc}`,
    onclick: () => seek(s.start) },
  el("img", { src: `/api/v1/assets/${doc.asset.id}/thumbnail?t=${Math.min(s.start + 0.5, (s.start + s.end) / 2)}&size=small`,
    alt: `shot ${s.index + 1}`, loading: "lazy", width: 128, height: 72 }),
  el("span", { class: "tc", text: s.start_tc }))));
}

function markerRow(m) {
  let pendingTime = null;
  const name = el("input", { class: "name", value: m.name, maxlength: 500, "aria-label": "name" });
  const note = el("textarea", { class: "note", rows: 2, maxlength: 10000, "aria-label": "note" });
  note.value = m.note;
  const tc = el("button", { type: "button", class: "tc seek", text: m.timecode, title: "Seek here", onclick: () => seek(pendingTime ?? m.time) });
  const msg = el("span", { class: "msg" });
  const save = async () => {
    const body = {};
    if (name.value !== m.name) body.name = name.value;
    if (note.value !== m.note) body.note = note.value;
    if (pendingTime !== null) body.time = pendingTime;
    if (!Object.keys(body).length) { msg.textContent = "nothing changed"; return; }
    msg.textContent = "saving…";
    try {
      await request(`/markers/${m.id}`, { method: "PATCH", json: body });
      await reload("saved");
    } catch (err) {
      msg.textContent = err.message;
      msg.classList.add("error");
    }
  };
  const remove = async () => {
    if (!confirm(`Delete marker “${m.name}”? (It is kept as history.)`)) return;
    try {
      await request(`/markers/${m.id}`, { method: "DELETE" });
      await reload("deleted");
    } catch (err) { msg.textContent = err.message; }
  };
  const row = el("li", { class: `marker${m.verified ? " verified" : ""}`, dataset: { markerId: m.id, kind: m.kind } },
    el("div", { class: "marker-head" },
      el("span", { class: "swatch", title: m.colour }), tc,
      el("span", { class: `badge kind-${m.kind}`, text: m.kind }),
      m.verified ? el("span", { class: "badge verified", text: "✓ verified" }) : el("span", { class: "badge muted", text: m.source })),
    name, note,
    el("div", { class: "actions" },
      el("button", { type: "button", class: "to-playhead", text: "Move to playhead", onclick: () => {
        pendingTime = player.currentTime;
        tc.textContent = `${startTimecode(pendingTime)} (unsaved)`;
      } }),
      el("button", { type: "button", class: "save primary", text: "Save", onclick: save }),
      el("button", { type: "button", class: "delete", text: "Delete", onclick: remove }), msg));
  row.querySelector(".swatch").style.background = colourOf(m.colour);
  name.addEventListener("keydown", (e) => { if (e.key === "Enter") save(); });
  return row;
}

function renderMarkers() {
  list.replaceChildren(...doc.markers.map(markerRow));
  if (!doc.markers.length) list.append(el("li", { class: "muted", text: "No markers." }));
}

async function reload(note) {
  doc = await request(`/assets/${doc.asset.id}`);
  renderTimeline();
  renderMarkers();
  if (note) document.getElementById("asset-meta").dataset.lastAction = note;
}

async function renderExport() {
  if (!formats) formats = (await request("/exports")).formats;
  const select = document.getElementById("export-format");
  const link = document.getElementById("export-link");
  if (!select.options.length) {
    select.append(...formats.map((f) => el("option", { value: f.name, text: `${f.name} — ${f.description}` })));
    select.addEventListener("change", () => renderExport());
  }
  link.href = `/api/v1/assets/${doc.asset.id}/export/${select.value}`;
}

function showPlayhead(t) {
  playhead.style.left = pct(t);
  playheadTc.textContent = startTimecode(t);
}

function clearAsset(message) {
  // nothing of the previously shown asset stays on the page: no video, metadata, markers or playhead
  doc = null;
  document.getElementById("asset-name").textContent = message;
  document.getElementById("asset-meta").textContent = "";
  for (const node of [sceneStrip, markerStrip, list, document.getElementById("filmstrip")]) node.replaceChildren();
  player.removeAttribute("src");
  delete player.dataset.assetId;
  player.load();  // drops the last frame of the previous video
  playhead.style.left = "0%";
  playheadTc.textContent = "--:--:--:--";
  document.getElementById("export-link").removeAttribute("href");
}

export async function showAsset(id, t) {
  if (doc && doc.asset.id === id && player.getAttribute("src")) {  // same asset, another moment: just seek
    if (t !== null) seek(t);
    return;
  }
  mediaError.hidden = true;
  try {
    doc = await request(`/assets/${id}`);
  } catch (err) {
    clearAsset(err.message);
    return;
  }
  const a = doc.asset;
  document.getElementById("asset-name").textContent = (a.paths.at(-1) || `asset ${a.id}`).split("/").pop();
  document.getElementById("asset-meta").textContent =
    `${a.duration.toFixed(2)} s · ${a.fps.value.toFixed(3).replace(/\.?0+$/, "")} fps · ${a.width}×${a.height} · starts ${a.start_timecode || "00:00:00:00"}`;
  player.dataset.assetId = a.id;
  player.src = `/api/v1/assets/${a.id}/media`;
  showPlayhead(t ?? 0);  // this asset's label now, not the last one's until the video reports a time
  if (t !== null) seek(t);
  renderTimeline();
  renderMarkers();
  await renderExport();
  const status = await request(`/assets/${id}/status`).catch(() => null);
  if (status && !status.media.available) {
    mediaError.textContent = status.media.error;
    mediaError.hidden = false;
  } else {
    renderFilmstrip();
    await renderFaceStrip(id, seek);
  }
}

player.addEventListener("timeupdate", () => {
  if (!doc) return;
  playhead.style.left = pct(player.currentTime);
  playheadTc.textContent = startTimecode(player.currentTime);
});
player.addEventListener("seeked", () => player.dispatchEvent(new Event("timeupdate")));
player.addEventListener("error", () => {
  if (!doc) return;
  request(`/assets/${doc.asset.id}/status`).then((s) => {
    mediaError.textContent = s.media.available ? "This browser cannot play the file." : s.media.error;
    mediaError.hidden = false;
  }).catch(() => {});
});

document.getElementById("timeline").addEventListener("click", (event) => {
  if (!doc || event.target.closest("button")) return;
  const box = event.currentTarget.getBoundingClientRect();
  seek(((event.clientX - box.left) / box.width) * doc.asset.duration);
});

document.getElementById("add-marker").addEventListener("click", async () => {
  if (!doc) return;
  const name = prompt("Name of the new marker", "");
  if (!name || !name.trim()) return;
  try {
    await request(`/assets/${doc.asset.id}/markers`, { method: "POST", json: { time: player.currentTime, name } });
    await reload("added");
  } catch (err) { alert(err.message); }
});

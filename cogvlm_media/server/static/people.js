// The people page (#/people): every person with their best face; name, merge and split. And the face
// strip of the asset view. Faces are cut out of the cached thumbnails with CSS (no inline styles: CSP).
import { request, el } from "./api.js";

const FACE = 72; // pixels, the square each face is shown in

// A face box [left, top, width, height] (fractions of the frame) shown as a FACE-pixel square.
export function faceImage(assetId, time, box, label) {
  const [left, top, width, height] = box;
  const img = el("img", { src: `/api/v1/assets/${assetId}/thumbnail?t=${time}&size=large`, alt: label, loading: "lazy" });
  const frame = el("span", { class: "face", title: label }, img);
  img.addEventListener("load", () => {
    const scale = FACE / Math.max(width * img.naturalWidth, height * img.naturalHeight, 1);
    img.style.width = `${img.naturalWidth * scale}px`;
    img.style.left = `${-left * img.naturalWidth * scale}px`;
    img.style.top = `${-top * img.naturalHeight * scale}px`;
  });
  return frame;
}

export async function renderFaceStrip(assetId, seek) {
  const strip = document.getElementById("face-strip");
  let doc;
  try { doc = await request(`/assets/${assetId}/faces`); } catch { strip.replaceChildren(); return; }
  strip.replaceChildren(...doc.faces.map((f) => el("button", { type: "button", class: "face-button",
    title: `${f.label} at ${f.time.toFixed(1)} s`, onclick: () => seek(f.time) },
  faceImage(assetId, f.time, f.box, f.label), el("span", { class: "face-label", text: f.label }))));
  strip.hidden = !doc.faces.length;
}

function appearanceList(p, refresh, message) {
  return el("ul", { class: "appearances" }, p.appearances.map((a) => el("li", {},
    el("a", { href: `#/asset/${a.asset_id}?t=${a.start}`, text: `${a.file.split("/").pop() || `asset ${a.asset_id}`} ${a.start.toFixed(1)}–${a.end.toFixed(1)} s` }),
    " ",
    el("button", { type: "button", class: "split", text: "split off", title: "These faces are someone else: make them a new person",
      onclick: async () => {
        try { await request(`/people/${p.id}/split`, { method: "POST", json: { asset_ids: [a.asset_id] } }); await refresh(); }
        catch (err) { message.textContent = err.message; }
      } }))));
}

export async function showPeople() {
  const list = document.getElementById("people-list");
  const message = document.getElementById("people-message");
  const refresh = () => showPeople();
  const doc = await request("/people");
  message.textContent = doc.count ? "" : "No people yet: faces are found when footage is ingested with the [see] extra.";
  const cards = await Promise.all(doc.people.map(async (summary) => {
    const p = await request(`/people/${summary.id}`);
    const name = el("input", { class: "person-name", value: p.name || "", placeholder: p.label, maxlength: 500, "aria-label": `name of ${p.label}` });
    const pick = el("input", { type: "checkbox", class: "merge-pick", value: String(p.id), "aria-label": `select ${p.label}` });
    const save = el("button", { type: "button", text: "Name", onclick: async () => {
      try { await request(`/people/${p.id}`, { method: "PATCH", json: { name: name.value } }); await refresh(); }
      catch (err) { message.textContent = err.message; }
    } });
    const face = summary.face ? faceImage(summary.face.asset_id, summary.face.time, summary.face.box, p.label) : null;
    return el("article", { class: "card person", dataset: { personId: p.id } }, pick, face,
      el("div", { class: "person-body" }, el("h3", { text: `${p.label}` }),
        el("div", { class: "meta", text: `#${p.id} · ${summary.faces} faces · ${summary.assets} files` }),
        el("div", { class: "person-edit" }, name, save), appearanceList(p, refresh, message)));
  }));
  list.replaceChildren(...cards);
}

document.getElementById("merge-people").addEventListener("click", async () => {
  const message = document.getElementById("people-message");
  const ids = [...document.querySelectorAll(".merge-pick:checked")].map((c) => Number(c.value));
  if (ids.length < 2) { message.textContent = "Select two or more people to merge."; return; }
  try {
    await request(`/people/${ids[0]}/merge`, { method: "POST", json: { others: ids.slice(1) } });
    await showPeople();
  } catch (err) { message.textContent = err.message; }
});

// Search results and the asset list: cards with a thumbnail, file name, timecode and matched text.
import { request, el, ApiError } from "./api.js";

const hits = document.getElementById("hits");
const message = document.getElementById("search-message");

function thumb(src, alt) {
  const img = el("img", { class: "thumb", src, alt, loading: "lazy", width: 192, height: 108 });
  // a file moved away since ingest: say so in place of the picture
  img.addEventListener("error", () => img.replaceWith(el("div", { class: "thumb missing", text: "media missing" })));
  return img;
}

export async function showSearch(q, kind) {
  document.getElementById("search-title").textContent = `Results for “${q}”`;
  hits.replaceChildren(el("p", { class: "muted", text: "Searching…" }));
  message.hidden = true;
  const params = new URLSearchParams({ q, limit: "24" });
  if (kind) params.set("kind", kind);
  let doc;
  try {
    doc = await request(`/search?${params}`);
  } catch (err) {
    hits.replaceChildren();
    message.textContent = err instanceof ApiError ? err.message : String(err);
    message.hidden = false;
    return;
  }
  if (doc.message || !doc.hits.length) {
    message.textContent = doc.message || `No matches for “${q}”.`;
    message.hidden = false;
  }
  hits.replaceChildren(...doc.hits.map((h) => el("a", {
    class: "card hit", href: `#/asset/${h.asset_id}?t=${h.time}`,
    dataset: { assetId: h.asset_id, time: h.time, kind: h.kind },
  },
  thumb(h.thumbnail, `${h.name} at ${h.timecode}`),
  el("div", { class: "card-body" },
    el("div", { class: "card-title" }, el("span", { class: "name", text: h.name, title: h.file || h.name }),
      el("span", { class: "tc", text: h.timecode })),
    el("div", { class: "badges" }, el("span", { class: `badge kind-${h.kind}`, text: h.kind }),
      h.verified ? el("span", { class: "badge verified", text: "✓ verified" }) : null,
      el("span", { class: "badge", text: h.matched.join(" + ") })),
    el("p", { class: "text", text: h.text })))));
  if (doc.hits.length) {  // the list is cut at a relevance floor: say whether anything relevant is left
    hits.append(el("p", { id: "search-end", class: "muted search-end",
      text: doc.more ? `Showing the best ${doc.hits.length}; there are more: refine the query or filter by kind.`
        : `No more results (${doc.hits.length} relevant).` }));
  }
}

export async function showHome() {
  const cards = document.getElementById("asset-cards");
  try {
    const doc = await request("/assets?limit=200");
    if (!doc.assets.length) {
      cards.replaceChildren(el("p", { class: "muted", text: "No footage yet: run `cogvlm-media ingest PATH` or `cogvlm-media watch DIR`." }));
      return;
    }
    cards.replaceChildren(...doc.assets.map((a) => el("a", { class: "card", href: `#/asset/${a.id}` },
      a.media_available ? thumb(`/api/v1/assets/${a.id}/thumbnail?t=${Math.min(1, a.duration / 2)}`, a.name)
        : el("div", { class: "thumb missing", text: "media missing" }),
      el("div", { class: "card-body" },
        el("div", { class: "card-title" }, el("span", { class: "name", text: a.name })),
        el("p", { class: "muted", text: `${a.duration.toFixed(1)} s · ${a.scenes} scenes · ${a.markers} markers` })))));
  } catch (err) {
    cards.replaceChildren(el("p", { class: "message", text: err.message }));
  }
}

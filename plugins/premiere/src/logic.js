"use strict";
/**
 * The panel's logic, with no Premiere import: exact tick maths (BigInt rationals), where each archive
 * marker goes on a clip or on a sequence, what a second run must change, and what to send back.
 * host.js reads and writes Premiere's objects; this module works on plain values and is what
 * test/logic.test.js and test/host.test.js check.
 *
 * Premiere counts time in ticks: 254,016,000,000 per second. An asset frame f at rate num/den starts at
 * f × den × 254016000000 / num ticks from the media's first frame (an integer for 23.976, 24, 25, 29.97,
 * 30, 50, 59.94 and 60). A sequence marker for a clip placed at `start` (sequence ticks) with source in
 * point `inPoint` (media ticks) sits at start + (mediaTicks − inPoint), snapped to the sequence's frame.
 */

const TICKS_PER_SECOND = 254016000000n;
const TAG_RE = /\s*\[cmk:([0-9a-f]{8,32})\]/;

function big(value) {
  if (typeof value === "bigint") return value;
  if (typeof value === "number") {
    if (!Number.isInteger(value)) throw new RangeError(`not an integer: ${value}`);
    return BigInt(value);
  }
  const text = String(value).trim();
  if (!/^-?\d+$/.test(text)) throw new RangeError(`not an integer: ${value}`);
  return BigInt(text);
}

/** round(n / d) for BigInts, halves away from zero (d > 0). */
function divRound(n, d) {
  if (d <= 0n) throw new RangeError("divisor must be positive");
  const q = n / d;
  const r = n % d;
  if (2n * (r < 0n ? -r : r) >= d) return n < 0n ? q - 1n : q + 1n;
  return q;
}

/** Ticks from the media's first frame to asset frame `frame` at rate num/den (exact, rounded if needed). */
function framesToTicks(frame, num, den) {
  return divRound(big(frame) * big(den) * TICKS_PER_SECOND, big(num));
}

/** The asset frame nearest to `ticks` from the media's first frame. */
function ticksToFrames(ticks, num, den) {
  return divRound(big(ticks) * big(num), big(den) * TICKS_PER_SECOND);
}

/** A sequence's exact rate from its timebase (ticks per frame, as Sequence.getTimebase() gives it). */
function rateFromTimebase(ticksPerFrame) {
  const tpf = big(ticksPerFrame);
  const g = gcd(TICKS_PER_SECOND, tpf);
  return { num: TICKS_PER_SECOND / g, den: tpf / g };
}

function gcd(a, b) {
  while (b) [a, b] = [b, a % b];
  return a;
}

function snap(ticks, ticksPerFrame) {
  const tpf = big(ticksPerFrame);
  return divRound(big(ticks), tpf) * tpf;
}

/** HH:MM:SS:FF for a frame count at a nominal rate, HH:MM:SS;FF counting drop-frame (29.97, 59.94). */
function timecode(frame, rate, drop) {
  const nominal = Math.round(Number(rate.num) / Number(rate.den));
  let f = Number(frame);
  if (drop) {
    const skip = nominal === 30 ? 2 : 4;
    const per10 = nominal * 600 - skip * 9;
    const perMin = nominal * 60 - skip;
    const tens = Math.floor(f / per10);
    const rest = f % per10;
    f += skip * 9 * tens + (rest > skip ? skip * Math.floor((rest - skip) / perMin) : 0);
  }
  const pad = (n) => String(n).padStart(2, "0");
  const ff = f % nominal;
  const ss = Math.floor(f / nominal) % 60;
  const mm = Math.floor(f / (nominal * 60)) % 60;
  const hh = Math.floor(f / (nominal * 3600)) % 24;
  return `${pad(hh)}:${pad(mm)}:${pad(ss)}${drop ? ";" : ":"}${pad(ff)}`;
}

/**
 * Where an archive mark goes on one use of its clip in a sequence, or null when it falls outside the
 * used part. `use`: {start, end, inPoint} in ticks (sequence ticks for start/end, media ticks for inPoint);
 * `asset`: {fps_num, fps_den}; `tpf`: the sequence's ticks per frame.
 */
function placeOnSequence(mark, use, asset, tpf) {
  const media = framesToTicks(mark.frame, asset.fps_num, asset.fps_den);
  const inPoint = big(use.inPoint);
  const length = big(use.end) - big(use.start);
  const offset = media - inPoint;
  if (offset < 0n || offset >= length) return null;
  const start = snap(big(use.start) + offset, tpf);
  let duration = 0n;
  if (mark.frames) {
    const end = framesToTicks(mark.frame + mark.frames, asset.fps_num, asset.fps_den) - inPoint;
    duration = snap((end < length ? end : length) - offset, tpf);
  }
  return { start, duration };
}

/** Where an archive mark goes on the clip (project item) itself: media time from the first frame. */
function placeOnClip(mark, asset) {
  const start = framesToTicks(mark.frame, asset.fps_num, asset.fps_den);
  const duration = mark.frames ? framesToTicks(mark.frame + mark.frames, asset.fps_num, asset.fps_den) - start : 0n;
  return { start, duration };
}

function newKey() {
  let out = "";
  for (let i = 0; i < 16; i += 1) out += Math.floor(Math.random() * 16).toString(16);
  return out;
}

function tagged(note, key) {
  return `${note ? `${note} ` : ""}[cmk:${key}]`;
}

function splitTag(comments) {
  const text = comments || "";
  const found = TAG_RE.exec(text);
  if (!found) return { note: text, key: null };
  return { note: (text.slice(0, found.index) + text.slice(found.index + found[0].length)).trim(), key: found[1] };
}

/**
 * What to do so that the archive's markers are on one owner (a sequence or a clip).
 * wanted: [{key?, markId, useKey, assetId, start, duration, name, note, colorIndex}] (ticks as BigInt);
 * existing: the owner's markers as plain values [{key, start, duration, name, comments, colorIndex}];
 * links: rows of /nle/links for this container. Returns {add, update, remove, kept, notes}.
 */
function planPull(wanted, existing, links) {
  const byKey = new Map(existing.filter((m) => m.key).map((m) => [m.key, m]));
  const linkFor = new Map();
  for (const link of links) {
    const k = `${link.use_key}|${link.live_marker_id}`;
    if (!linkFor.has(k)) linkFor.set(k, link);
  }
  const out = { add: [], update: [], remove: [], kept: 0, notes: [] };
  for (const w of wanted) {
    const link = linkFor.get(`${w.useKey}|${w.markId}`);
    if (!link) {
      out.add.push(w);
      continue;
    }
    const present = byKey.get(link.nle_key);
    if (!present) {
      out.notes.push(`${JSON.stringify(w.name)} was deleted in Premiere; not added again`);
      continue;
    }
    if (link.marker_id !== link.live_marker_id) {
      out.update.push({ marker: present, wanted: { ...w, key: link.nle_key } });
      continue;
    }
    if (!sameAsPlaced(present, w)) {
      out.notes.push(`${JSON.stringify(present.name)} was edited in Premiere: kept; send your edits to store it`);
    }
    out.kept += 1;
  }
  for (const link of links) {
    if (link.live_marker_id === null && byKey.has(link.nle_key)) out.remove.push(byKey.get(link.nle_key));
  }
  return out;
}

function sameAsPlaced(marker, w) {
  return big(marker.start) === big(w.start) && big(marker.duration) === big(w.duration) && marker.name === w.name
    && splitTag(marker.comments).note === w.note && Number(marker.colorIndex) === Number(w.colorIndex);
}

/** Premiere colour index → an OTIO colour name through the server's one table (null when it is unknown). */
function otioColour(index, config, current) {
  const rows = Object.entries(config.colours);
  if (current && config.colours[current] && config.colours[current].premiere === Number(index)) return current;
  const hit = rows.find(([, row]) => row.premiere === Number(index));
  return hit ? hit[0] : null;
}

/**
 * Markers changed or added in Premiere → /nle/sync items. `markers`: the owner's markers as plain values;
 * `expected`: nle key → {start, duration, mark} as the last pull placed them (recomputed from the live mark);
 * `toAsset(marker)` → {useKey, assetId, frame, frames} or null when the marker is not over a matched clip.
 */
function planPush(markers, links, expected, toAsset, config) {
  const byKey = new Map(links.map((l) => [l.nle_key, l]));
  const items = [];
  const notes = [];
  for (const marker of markers) {
    const link = marker.key ? byKey.get(marker.key) : undefined;
    const { note } = splitTag(marker.comments);
    const name = (marker.name || "").trim() || "Marker";
    if (link && link.live_marker_id === null) {
      notes.push(`${JSON.stringify(name)} was deleted in the archive; not sent`);
      continue;
    }
    const exp = link ? expected.get(marker.key) : undefined;
    let where;
    if (exp) {
      const moved = big(marker.start) !== exp.start || big(marker.duration) !== exp.duration;
      const colour = otioColour(marker.colorIndex, config, exp.mark.colour);
      if (!moved && name === exp.mark.name && note === exp.mark.note && colour === exp.mark.colour) continue;
      where = moved ? toAsset(marker) : { useKey: link.use_key, assetId: link.asset_id, frame: exp.mark.frame,
        frames: exp.mark.frames };
      if (where) where.colour = colour;
    } else {
      where = toAsset(marker);
      if (where) where.colour = otioColour(marker.colorIndex, config, null);
    }
    if (!where) {
      if (!link) notes.push(`${JSON.stringify(name)} is not over a clip from the archive; not sent`);
      continue;
    }
    items.push({ nle_key: marker.key || newKey(), use_key: where.useKey, asset_id: where.assetId,
      frame: Number(where.frame), frames: Math.max(0, Number(where.frames)), name, note,
      colour: where.colour || null, needsKey: !marker.key });
  }
  return { items, notes };
}

/**
 * Our keys still on the owner, sent as `present` so that markers deleted in Premiere are deleted in the
 * archive too, with how many linked markers that leaves out. `present` is null (nothing is deleted) when
 * no linked marker is left at all: an owner whose markers did not come back looks the same as one where
 * every marker was deleted.
 */
function presentKeys(markers, links) {
  const keys = new Set(markers.filter((m) => m.key).map((m) => m.key));
  const linked = links.filter((l) => l.live_marker_id !== null);
  if (linked.length && !linked.some((l) => keys.has(l.nle_key))) {
    return { present: null, gone: 0, notes: ["none of the archive's markers is left here: nothing deleted in the archive "
      + "(delete them on the review page if that was meant)"] };
  }
  return { present: [...keys].sort(), gone: linked.filter((l) => !keys.has(l.nle_key)).length, notes: [] };
}

module.exports = {
  TICKS_PER_SECOND, big, divRound, framesToTicks, ticksToFrames, rateFromTimebase, snap, timecode,
  placeOnSequence, placeOnClip, planPull, planPush, presentKeys, sameAsPlaced, otioColour, splitTag, tagged, newKey,
};

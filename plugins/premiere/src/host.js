"use strict";
/**
 * The glue between Premiere's UXP DOM (the `premierepro` module, passed in as `ppro`) and logic.js.
 * Calls follow Adobe's "Premiere DOM API Reference" (developer.adobe.com/premiere-pro/uxp/ppro_reference):
 * Project.getActiveProject / getActiveSequence / getRootItem / lockedAccess / executeTransaction,
 * Markers.getMarkers(owner) → markers.getMarkers() / createAddMarkerAction(name, type, start, duration,
 * comments) / createMoveMarkerAction / createRemoveMarkerAction, Marker.getName / getComments / getStart /
 * getDuration / getColorIndex / createSet*Action / createSetColorByIndexAction and its guid (26.3+),
 * TickTime.createWithTicks, Sequence.getTimebase / getVideoTrackCount / getVideoTrack,
 * VideoTrack.getTrackItems, VideoClipTrackItem.getStartTime / getEndTime / getInPoint / getProjectItem,
 * ClipProjectItem.cast / getMediaFilePath, FolderItem.getItems. Every value is awaited: the DOM answers
 * some calls with promises.
 */

const logic = require("./logic.js");
const { PanelError } = require("./api.js");

const big = logic.big;

function keyOf(marker) {
  let guid = null;
  if (typeof marker.getGuid === "function") guid = marker.getGuid();
  else if (marker.guid !== undefined && marker.guid !== null) guid = marker.guid;
  if (guid !== null && guid !== undefined) {
    const text = typeof guid === "string" ? guid : String(guid.toString());
    if (text && text !== "[object Object]") return { key: text, fromGuid: true };
  }
  return { key: null, fromGuid: false };
}

async function plainMarkers(ppro, owner) {
  const markers = await ppro.Markers.getMarkers(owner);
  const list = (await markers.getMarkers()) || [];
  const out = [];
  for (const raw of list) {
    const comments = (await raw.getComments()) || "";
    const id = keyOf(raw);
    out.push({ raw, key: id.key || logic.splitTag(comments).key, fromGuid: id.fromGuid,
      start: big((await raw.getStart()).ticks), duration: big((await raw.getDuration()).ticks),
      name: await raw.getName(), comments, colorIndex: Number(await raw.getColorIndex()) });
  }
  return { markers, list: out };
}

function transact(project, label, build) {
  // Actions must be created inside lockedAccess (Premiere 26.3) and run inside executeTransaction.
  return project.lockedAccess(() => project.executeTransaction((compound) => {
    for (const action of build()) compound.addAction(action);
  }, label));
}

async function clipPath(ppro, projectItem) {
  if (!projectItem) return null;
  const clip = ppro.ClipProjectItem.cast(projectItem);
  if (!clip || typeof clip.getMediaFilePath !== "function") return null;
  return (await clip.getMediaFilePath()) || null;
}

/** Every video clip in the sequence as a use: {key, track, start, end, inPoint (ticks), path, name}. */
async function readUses(ppro, sequence) {
  const uses = [];
  const count = await sequence.getVideoTrackCount();
  const clipType = ppro.Constants && ppro.Constants.TrackItemType ? ppro.Constants.TrackItemType.CLIP : 1;
  for (let t = 0; t < count; t += 1) {
    const track = await sequence.getVideoTrack(t);
    for (const item of (await track.getTrackItems(clipType, false)) || []) {
      const path = await clipPath(ppro, await item.getProjectItem());
      if (!path) continue;
      const start = big((await item.getStartTime()).ticks);
      uses.push({ key: `V${t + 1}@${start}`, track: t + 1, start, end: big((await item.getEndTime()).ticks),
        inPoint: big((await item.getInPoint()).ticks), path, name: await item.getName() });
    }
  }
  return uses;
}

/** The open project's media files: [{name, path, item}] (bins walked recursively). */
async function projectMedia(ppro, project) {
  const out = [];
  async function walk(folder) {
    for (const item of (await folder.getItems()) || []) {
      if (typeof item.getItems === "function") await walk(item);
      else {
        const path = await clipPath(ppro, item);
        if (path) out.push({ name: item.name, path, item });
      }
    }
  }
  await walk(await project.getRootItem());
  return out;
}

class Report {
  constructor(action) { this.action = action; this.counts = {}; this.lines = []; }
  count(what, n = 1) { this.counts[what] = (this.counts[what] || 0) + n; }
  say(line) { this.lines.push(line); }
  text() {
    const parts = Object.entries(this.counts).map(([k, v]) => `${v} ${k}`);
    return [`${this.action}: ${parts.join(", ") || "nothing to do"}`, ...this.lines].join("\n");
  }
}

/** Bring the wanted markers onto one owner (sequence or clip) and record the links. */
async function applyPull(ppro, client, project, owner, container, wanted, report) {
  const links = await client.links(container);
  const before = await plainMarkers(ppro, owner);
  const plan = logic.planPull(wanted, before.list, links);
  const tt = (ticks) => ppro.TickTime.createWithTicks(String(ticks));
  if (plan.add.length || plan.update.length || plan.remove.length) {
    await transact(project, "cogvlm-media: markers", () => {
      const actions = [];
      for (const w of plan.add) {
        actions.push(before.markers.createAddMarkerAction(w.name, "Comment", tt(w.start), tt(w.duration), w.note));
      }
      for (const { marker, wanted: w } of plan.update) {
        actions.push(before.markers.createMoveMarkerAction(marker.raw, tt(w.start)));
        actions.push(marker.raw.createSetNameAction(w.name));
        actions.push(marker.raw.createSetCommentsAction(marker.fromGuid ? w.note : logic.tagged(w.note, w.key)));
        actions.push(marker.raw.createSetDurationAction(tt(w.duration)));
        actions.push(marker.raw.createSetColorByIndexAction(w.colorIndex));
      }
      for (const marker of plan.remove) actions.push(before.markers.createRemoveMarkerAction(marker.raw));
      return actions;
    });
  }
  report.count("updated", plan.update.length);
  report.count("removed", plan.remove.length);
  plan.notes.forEach((n) => report.say(n));
  if (!plan.add.length) return;
  // find the markers just added (new objects at the wanted start with the wanted name), colour them and,
  // where Premiere exposes no marker GUID (before 26.3), tag their comments with a key of ours
  const known = new Set(before.list.map((m) => m.raw));
  const after = await plainMarkers(ppro, owner);
  const fresh = after.list.filter((m) => !known.has(m.raw));
  const found = [];
  for (const w of plan.add) {
    const i = fresh.findIndex((m) => m.start === w.start && m.name === w.name);
    if (i < 0) { report.say(`Premiere did not add ${JSON.stringify(w.name)}`); continue; }
    found.push({ w, m: fresh.splice(i, 1)[0] });
  }
  await transact(project, "cogvlm-media: marker colours", () => {
    const actions = [];
    for (const f of found) {
      actions.push(f.m.raw.createSetColorByIndexAction(f.w.colorIndex));
      if (!f.m.fromGuid) {
        f.key = logic.newKey();
        actions.push(f.m.raw.createSetCommentsAction(logic.tagged(f.w.note, f.key)));
      } else f.key = f.m.key;
    }
    return actions;
  });
  report.count("added", found.length);
  await client.putLinks(container, found.map((f) => ({ nle_key: f.key, marker_id: f.w.markId, use_key: f.w.useKey })));
}

async function session(ppro, client) {
  await client.health();
  const config = await client.config();
  const project = await ppro.Project.getActiveProject();
  if (!project) throw new PanelError("No project is open.");
  return { config, project };
}

async function sequenceState(ppro, client, project) {
  const sequence = await project.getActiveSequence();
  if (!sequence) throw new PanelError("No sequence is active: open the sequence you want markers on.");
  const tpf = big(await sequence.getTimebase());
  const guid = sequence.guid ? String(sequence.guid.toString()) : "";
  const container = `sequence:${guid || sequence.name}`;
  const uses = await readUses(ppro, sequence);
  if (!uses.length) throw new PanelError("The active sequence has no video clips with media.");
  const found = await client.match(uses.map((u) => ({ key: u.key, path: u.path })));
  const assetOf = new Map();
  const assets = new Map();
  const unmatched = [];
  uses.forEach((u, i) => {
    if (found[i].asset) { assetOf.set(u.key, found[i].asset.id); assets.set(found[i].asset.id, found[i].asset); }
    else unmatched.push(`${u.name} (${found[i].message || "not ingested"})`);
  });
  if (!assetOf.size) throw new PanelError(`No clip in this sequence matches an ingested asset: ${unmatched.slice(0, 5).join("; ")}`);
  const marks = new Map();
  for (const id of assets.keys()) marks.set(id, (await client.marks(id)).marks);
  return { sequence, tpf, container, uses, assetOf, assets, marks, unmatched };
}

function sequenceWanted(s) {
  const wanted = [];
  for (const use of s.uses) {
    const assetId = s.assetOf.get(use.key);
    if (assetId === undefined) continue;
    for (const mark of s.marks.get(assetId)) {
      const spot = logic.placeOnSequence(mark, use, s.assets.get(assetId), s.tpf);
      if (!spot) continue;
      wanted.push({ markId: mark.id, useKey: use.key, assetId, mark, start: spot.start, duration: spot.duration,
        name: mark.name, note: mark.note, colorIndex: mark.premiere_color_index });
    }
  }
  return wanted;
}

/** "Add markers to the active sequence". */
async function addToSequence(ppro, client) {
  const { project } = await session(ppro, client);
  const s = await sequenceState(ppro, client, project);
  const report = new Report("Markers on the sequence");
  await applyPull(ppro, client, project, s.sequence, s.container, sequenceWanted(s), report);
  s.unmatched.forEach((u) => report.say(`no asset for clip ${u}`));
  return report;
}

/** "Add markers to the clip": on the project item whose media file is `path`. */
async function addToClip(ppro, client, path) {
  const { project } = await session(ppro, client);
  const item = (await projectMedia(ppro, project)).find((m) => m.path === path);
  if (!item) throw new PanelError(`${path} is not in the open project`);
  const [match] = await client.match([{ key: "clip", path }]);
  if (!match.asset) throw new PanelError(`${item.name}: ${match.message || "not ingested"}`);
  const asset = match.asset;
  const marks = (await client.marks(asset.id)).marks;
  const wanted = marks.map((mark) => ({ markId: mark.id, useKey: "clip", assetId: asset.id, mark,
    ...logic.placeOnClip(mark, asset), name: mark.name, note: mark.note, colorIndex: mark.premiere_color_index }));
  const report = new Report(`Markers on ${item.name}`);
  await applyPull(ppro, client, project, ppro.ClipProjectItem.cast(item.item), `clip:${path}`, wanted, report);
  return report;
}

async function pushOwner(ppro, client, config, owner, container, wantedByMark, toAsset, report) {
  const links = await client.links(container);
  const { list } = await plainMarkers(ppro, owner);
  const expected = new Map();
  for (const link of links) {
    const w = wantedByMark.get(`${link.use_key}|${link.live_marker_id}`);
    if (w) expected.set(link.nle_key, { start: w.start, duration: w.duration, mark: w.mark });
  }
  const { items, notes } = logic.planPush(list, links, expected, toAsset, config);
  const { present, gone, notes: more } = logic.presentKeys(list, links);
  [...notes, ...more].forEach((n) => report.say(n));
  if (!items.length && !gone) return;
  const result = await client.sync(container, items.map(({ needsKey, ...rest }) => rest), present);
  for (const [status, n] of Object.entries(result.counts)) if (n) report.count(status, n);
  // markers new to the archive that have no GUID get our key in their comments
  const untagged = items.filter((it) => it.needsKey);
  if (untagged.length) {
    await transact(await ppro.Project.getActiveProject(), "cogvlm-media: marker keys", () => untagged.map((it) => {
      const m = list.find((x) => !x.key && x.name.trim() === it.name && logic.splitTag(x.comments).note === it.note);
      return m ? m.raw.createSetCommentsAction(logic.tagged(it.note, it.nle_key)) : null;
    }).filter(Boolean));
  }
}

/** "Send my edits back": changed, new or deleted markers on the active sequence and on the project's clips. */
async function sendEdits(ppro, client, options = {}) {
  const { config, project } = await session(ppro, client);
  const report = new Report("Sent to the archive");
  const s = await sequenceState(ppro, client, project);
  const wanted = sequenceWanted(s);
  const byMark = new Map(wanted.map((w) => [`${w.useKey}|${w.markId}`, w]));
  const toAsset = (marker) => {
    const start = big(marker.start);
    const use = [...s.uses].sort((a, b) => b.track - a.track)
      .find((u) => s.assetOf.has(u.key) && u.start <= start && start < u.end);
    if (!use) return null;
    const asset = s.assets.get(s.assetOf.get(use.key));
    const media = start - use.start + big(use.inPoint);
    const frame = logic.ticksToFrames(media, asset.fps_num, asset.fps_den);
    const frames = big(marker.duration) ? logic.ticksToFrames(media + big(marker.duration), asset.fps_num, asset.fps_den) - frame : 0n;
    return { useKey: use.key, assetId: asset.id, frame: Number(frame), frames: Number(frames) };
  };
  await pushOwner(ppro, client, config, s.sequence, s.container, byMark, toAsset, report);
  for (const path of options.clipPaths || []) {
    const item = (await projectMedia(ppro, project)).find((m) => m.path === path);
    if (!item) continue;
    const [match] = await client.match([{ key: "clip", path }]);
    if (!match.asset) continue;
    const asset = match.asset;
    const marks = (await client.marks(asset.id)).marks;
    const byClipMark = new Map(marks.map((mark) => [`clip|${mark.id}`, { mark, ...logic.placeOnClip(mark, asset) }]));
    const clipToAsset = (marker) => {
      const frame = logic.ticksToFrames(marker.start, asset.fps_num, asset.fps_den);
      const frames = big(marker.duration) ? logic.ticksToFrames(big(marker.start) + big(marker.duration), asset.fps_num, asset.fps_den) - frame : 0n;
      return { useKey: "clip", assetId: asset.id, frame: Number(frame), frames: Number(frames) };
    };
    await pushOwner(ppro, client, config, ppro.ClipProjectItem.cast(item.item), `clip:${path}`, byClipMark,
      clipToAsset, report);
  }
  return report;
}

module.exports = { addToSequence, addToClip, sendEdits, projectMedia, readUses, plainMarkers, keyOf, Report };

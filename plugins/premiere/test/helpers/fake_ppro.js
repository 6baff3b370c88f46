"use strict";
/**
 * A fake of the `premierepro` UXP module for the tests. Class and method names, argument orders and
 * return types follow Adobe's "Premiere DOM API Reference" (developer.adobe.com/premiere-pro/uxp/
 * ppro_reference: Project, Sequence, VideoTrack, VideoClipTrackItem, ClipProjectItem, FolderItem, Markers,
 * Marker, TickTime, CompoundAction) and the 26.3 changelog (actions must be created inside
 * project.lockedAccess; Marker has a `guid`). `withGuid: false` behaves like 25.x (no marker GUID).
 * Several getters answer promises, as the real DOM does for many calls.
 */

let lockDepth = 0;
let serial = 0;

function requireLock(what) {
  if (lockDepth === 0) throw new Error(`${what}: actions must be created inside project.lockedAccess()`);
}

class TickTime {
  constructor(ticks) { this._t = BigInt(ticks); }
  static createWithTicks(ticks) {
    if (typeof ticks !== "string") throw new TypeError("createWithTicks takes ticks as a string");
    return new TickTime(ticks);
  }
  static createWithSeconds(seconds) { return new TickTime(Math.round(seconds * 254016000000)); }
  get ticks() { return this._t.toString(); }
  get ticksNumber() { return Number(this._t); }
  get seconds() { return Number(this._t) / 254016000000; }
}
TickTime.TIME_ZERO = new TickTime(0);

class Guid {
  constructor() { serial += 1; this.value = `00000000-0000-4000-8000-${String(serial).padStart(12, "0")}`; }
  toString() { return this.value; }
}

function action(run) { return { __action: true, run }; }

class Marker {
  constructor(name, type, start, duration, comments, withGuid) {
    Object.assign(this, { _name: name, _type: type, _start: start, _duration: duration, _comments: comments,
      _color: 0 });
    if (withGuid) this.guid = new Guid();
  }
  getName() { return this._name; }
  getComments() { return Promise.resolve(this._comments); }
  getStart() { return this._start; }
  getDuration() { return this._duration; }
  getColorIndex() { return this._color; }
  getType() { return this._type; }
  createSetNameAction(name) { requireLock("Marker.createSetNameAction"); return action(() => { this._name = name; }); }
  createSetCommentsAction(c) { requireLock("Marker.createSetCommentsAction"); return action(() => { this._comments = c; }); }
  createSetDurationAction(t) { requireLock("Marker.createSetDurationAction"); return action(() => { this._duration = t; }); }
  createSetColorByIndexAction(i) {
    requireLock("Marker.createSetColorByIndexAction");
    if (!Number.isInteger(i) || i < 0 || i > 7) throw new RangeError(`colour index ${i}`);
    return action(() => { this._color = i; });
  }
}

class Markers {
  constructor(withGuid) { this.items = []; this.withGuid = withGuid; }
  static getMarkers(owner) {
    if (!owner || !owner._markers) throw new TypeError("Markers.getMarkers takes a Sequence or ClipProjectItem");
    return Promise.resolve(owner._markers);
  }
  getMarkers() { return this.items.slice(); }
  createAddMarkerAction(name, markerType, startTime, duration, comments) {
    requireLock("Markers.createAddMarkerAction");
    if (!(startTime instanceof TickTime) || !(duration instanceof TickTime)) throw new TypeError("TickTime expected");
    if (typeof name !== "string" || typeof markerType !== "string" || typeof comments !== "string") {
      throw new TypeError("createAddMarkerAction(name, markerType, startTime, duration, comments)");
    }
    return action(() => { this.items.push(new Marker(name, markerType, startTime, duration, comments, this.withGuid)); });
  }
  createMoveMarkerAction(marker, tickTime) {
    requireLock("Markers.createMoveMarkerAction");
    return action(() => { marker._start = tickTime; });
  }
  createRemoveMarkerAction(marker) {
    requireLock("Markers.createRemoveMarkerAction");
    return action(() => { this.items = this.items.filter((m) => m !== marker); });
  }
}

class ClipProjectItem {
  constructor(name, path, withGuid) { this.name = name; this._path = path; this._markers = new Markers(withGuid); }
  static cast(item) { return item instanceof ClipProjectItem ? item : null; }
  getMediaFilePath() { return Promise.resolve(this._path); }
}

class FolderItem {
  constructor(name, items) { this.name = name; this._items = items; }
  getItems() { return Promise.resolve(this._items); }
}

class VideoClipTrackItem {
  constructor(projectItem, start, end, inPoint) { Object.assign(this, { projectItem, start, end, inPoint }); }
  getName() { return this.projectItem.name; }
  getStartTime() { return Promise.resolve(new TickTime(this.start)); }
  getEndTime() { return Promise.resolve(new TickTime(this.end)); }
  getInPoint() { return Promise.resolve(new TickTime(this.inPoint)); }
  getOutPoint() { return Promise.resolve(new TickTime(BigInt(this.inPoint) + BigInt(this.end) - BigInt(this.start))); }
  getProjectItem() { return Promise.resolve(this.projectItem); }
}

class VideoTrack {
  constructor(items) { this.items = items; }
  getTrackItems(trackItemType, includeEmptyTrackItems) {
    if (trackItemType !== 1 || includeEmptyTrackItems !== false) throw new Error("getTrackItems(CLIP, false) expected");
    return this.items.slice();
  }
}

class Sequence {
  constructor(name, ticksPerFrame, withGuid) {
    this.name = name; this.guid = new Guid(); this._tpf = String(ticksPerFrame); this.tracks = [];
    this._markers = new Markers(withGuid);
  }
  getTimebase() { return Promise.resolve(this._tpf); }
  getVideoTrackCount() { return Promise.resolve(this.tracks.length); }
  getVideoTrack(index) { return Promise.resolve(this.tracks[index]); }
}

class Project {
  constructor(root, sequence) { this.root = root; this.sequence = sequence; this.transactions = []; }
  getActiveSequence() { return Promise.resolve(this.sequence); }
  getRootItem() { return Promise.resolve(this.root); }
  lockedAccess(fn) {
    lockDepth += 1;
    try { return fn(); } finally { lockDepth -= 1; }
  }
  executeTransaction(callback, undoString) {
    if (lockDepth === 0) throw new Error("executeTransaction outside lockedAccess");
    const compound = { actions: [], addAction(a) { if (!a || !a.__action) throw new TypeError("not an Action"); this.actions.push(a); return true; } };
    callback(compound);
    compound.actions.forEach((a) => a.run());
    this.transactions.push({ undoString, count: compound.actions.length });
    return true;
  }
}

function makePpro(project) {
  return {
    Project: { getActiveProject: () => Promise.resolve(project) },
    Markers, TickTime, ClipProjectItem, Constants: { TrackItemType: { EMPTY: 0, CLIP: 1 } },
  };
}

module.exports = { makePpro, Project, Sequence, VideoTrack, VideoClipTrackItem, ClipProjectItem, FolderItem,
  Markers, Marker, TickTime };

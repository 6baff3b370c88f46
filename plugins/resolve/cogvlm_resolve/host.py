"""The glue between DaVinci Resolve's scripting objects and ``logic``. Method names and argument orders
follow the scripting README that ships with Resolve (Help → Documentation → Developer →
Scripting/README.txt): ``Timeline.AddMarker(frameId, color, name, note, duration, customData)``,
``GetMarkers()``, ``UpdateMarkerCustomData(frameId, customData)``, ``DeleteMarkerByCustomData(customData)``,
``GetItemListInTrack("video", i)``, ``TimelineItem.GetStart() / GetDuration() / GetLeftOffset()``,
``GetMediaPoolItem().GetClipProperty("File Path")``, ``Timeline.GetStartFrame()``, ``GetSetting(...)``.
"""

from __future__ import absolute_import

from cogvlm_resolve import logic
from cogvlm_resolve.client import Client
from cogvlm_resolve.fingerprint import fingerprint
from cogvlm_resolve.logic import PluginError, Use


class Report(object):
    def __init__(self, action):
        self.action, self.lines, self.counts = action, [], {}

    def count(self, what, n=1):
        self.counts[what] = self.counts.get(what, 0) + n

    def say(self, line):
        self.lines.append(line)

    def text(self):
        head = "cogvlm-media {}: {}".format(self.action, ", ".join(
            "{} {}".format(v, k) for k, v in sorted(self.counts.items())) or "nothing to do")
        return "\n".join([head] + ["  " + line for line in self.lines])


def current_timeline(resolve):
    if resolve is None:
        raise PluginError("DaVinci Resolve is not reachable from this script (run it from Workspace → Scripts)")
    project = resolve.GetProjectManager().GetCurrentProject()
    if not project:
        raise PluginError("no project is open")
    timeline = project.GetCurrentTimeline()
    if not timeline:
        raise PluginError("no timeline is open: open the timeline you want markers on")
    return timeline


def _call(obj, name, *args):
    fn = getattr(obj, name, None)
    return fn(*args) if callable(fn) else None


def read_uses(timeline):
    """Every video clip on the timeline as a Use (clips without media, e.g. titles, are left out)."""
    uses = []
    for track in range(1, int(timeline.GetTrackCount("video") or 0) + 1):
        for item in timeline.GetItemListInTrack("video", track) or []:
            mpi = item.GetMediaPoolItem()
            path = mpi.GetClipProperty("File Path") if mpi else None
            if isinstance(path, dict):  # some versions answer a one-key dict
                path = path.get("File Path")
            if not path:
                continue
            in_point = _call(item, "GetLeftOffset")
            if in_point is None:
                in_point = _call(item, "GetSourceStartFrame") or 0
            unique = _call(item, "GetUniqueId")
            key = "item:{}".format(unique) if unique else "V{}@{}".format(track, int(item.GetStart()))
            uses.append(Use(key, track, item.GetName(), path, int(item.GetStart()), int(in_point),
                            int(item.GetDuration())))
    return uses


def match_uses(client, uses):
    """The server's match for each use: by path where that path was ingested, else by the content
    fingerprint of the file, computed here (moved or renamed media; the server reads no files for us)."""
    found = client.match([{"key": u.key, "path": u.path} for u in uses])
    missing = [n for n, row in enumerate(found) if row["asset"] is None]
    keys = {}
    for n in missing:
        if uses[n].path not in keys:
            keys[uses[n].path] = fingerprint(uses[n].path) if uses[n].path else None
    ask = [n for n in missing if keys[uses[n].path]]
    if ask:
        rows = client.match([{"key": uses[n].key, "fingerprint": keys[uses[n].path]} for n in ask])
        for n, row in zip(ask, rows):
            found[n] = dict(row, path=uses[n].path) if row["asset"] is not None else dict(
                found[n], message="not ingested (no asset with this content)")
    return found


class Session(object):
    """What both actions read first: the timeline, its clips matched to assets, their markers and links."""

    def __init__(self, resolve, client):
        self.client = client
        client.health()  # a clear message when the server is not running
        self.config = client.config()
        self.timeline = current_timeline(resolve)
        self.rate, self.drop = logic.parse_rate(self.timeline.GetSetting("timelineFrameRate"),
                                                self.timeline.GetSetting("timelineDropFrameTimecode"))
        self.start = int(self.timeline.GetStartFrame())
        self.container = _call(self.timeline, "GetUniqueId") or "name:" + self.timeline.GetName()
        self.uses = read_uses(self.timeline)
        if not self.uses:
            raise PluginError("the timeline has no video clips with media")
        found = match_uses(client, self.uses)
        self.asset_of_use, self.assets, self.unmatched = {}, {}, []
        for use, row in zip(self.uses, found):
            if row["asset"] is None:
                self.unmatched.append("{} ({})".format(use.name, row.get("message") or "not ingested"))
                continue
            self.asset_of_use[use.key] = row["asset"]["id"]
            self.assets[row["asset"]["id"]] = row["asset"]
        if not self.asset_of_use:
            raise PluginError("no clip on this timeline matches an ingested asset: " + "; ".join(
                sorted(set(self.unmatched))[:5]) + (" …" if len(set(self.unmatched)) > 5 else ""))
        self.marks = dict((aid, client.marks(aid)["marks"]) for aid in self.assets)
        self.links = client.links(self.container)

    def markers(self):
        return dict((int(f), info) for f, info in (self.timeline.GetMarkers() or {}).items())


def pull(resolve, client=None):
    """Add (or update) the archive's markers on the current timeline."""
    client = client or Client()
    s = Session(resolve, client)
    report = Report("pull")
    changes, new_links, notes = logic.plan_pull(s.uses, s.asset_of_use, s.marks, s.assets, s.links, s.markers(),
                                                s.rate, s.start, s.drop)
    for change in changes:
        if change.action == "delete":
            existing = s.markers().get(change.frame_id, {})
            if s.timeline.DeleteMarkerByCustomData(existing.get("customData", "")):
                report.count("removed" if change.note == "deleted in the archive" else "updated")
    added = []
    for change in changes:
        if change.action not in ("add", "replace"):
            continue
        w = change.wanted
        ok = s.timeline.AddMarker(w.frame_id, w.color, w.name, w.note, w.duration,
                                  logic.custom_data(w.key, w.frame_id, w.duration))
        if ok:
            added.append(w.key)
            if change.action == "add":
                report.count("added")
        else:
            report.say("Resolve refused marker {!r} at frame {}".format(w.name, w.frame_id))
    links = [l for l in new_links if l["nle_key"] in set(added)]
    if links:
        client.put_links(s.container, links)
    for note in notes:
        report.say(note)
    for name in sorted(set(s.unmatched)):
        report.say("no asset for clip " + name)
    return report


def push(resolve, client=None):
    """Send markers changed, added or deleted on the timeline back to the archive (editor-verified; the
    model's originals kept as history)."""
    client = client or Client()
    s = Session(resolve, client)
    report = Report("send")
    existing = s.markers()
    items, tags, notes = logic.plan_push(existing, s.uses, s.asset_of_use, s.assets, s.marks, s.links,
                                         s.config, s.rate, s.start)
    present, more = logic.present_keys(existing, s.links)
    notes.extend(more)
    if items or logic.deletions(present, s.links):
        result = client.sync(s.container, items, present)
        for status, n in result["counts"].items():
            if n:
                report.count(status, n)
        for frame, data in tags.items():
            s.timeline.UpdateMarkerCustomData(frame, data)
    for note in notes:
        report.say(note)
    return report


def get_resolve(namespace=None):
    """The ``resolve`` object: the global Resolve gives menu and console scripts, else the external API."""
    namespace = namespace or {}
    if namespace.get("resolve") is not None:
        return namespace["resolve"]
    try:
        import DaVinciResolveScript as dvr  # noqa: N813 - Resolve's module name
    except ImportError:
        return None
    return dvr.scriptapp("Resolve")


def main(action, namespace=None):
    """Entry point of the menu scripts: prints the report to Resolve's console (Workspace → Console)."""
    try:
        report = (pull if action == "pull" else push)(get_resolve(namespace))
        print(report.text())
        return report
    except PluginError as exc:
        print("cogvlm-media: " + str(exc))
        return None

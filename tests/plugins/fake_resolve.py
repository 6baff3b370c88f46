"""A fake of DaVinci Resolve's scripting objects, for the plugin tests.

Method names, argument orders and return shapes follow the scripting README that ships with Resolve
(Help → Documentation → Developer → Scripting/README.txt; "DaVinci Resolve Scripting API" — Resolve,
ProjectManager, Project, Timeline, TimelineItem and MediaPoolItem sections):
``Timeline.AddMarker(frameId, color, name, note, duration, customData) -> bool``, ``GetMarkers() -> {frameId:
{'color', 'duration', 'note', 'name', 'customData'}}`` (frameIds as floats, e.g. ``96.0``),
``GetMarkerByCustomData``, ``UpdateMarkerCustomData(frameId, customData)``, ``DeleteMarkerByCustomData``,
``DeleteMarkerAtFrame``, ``GetStartFrame()``, ``GetEndFrame()``, ``GetSetting(name) -> str``,
``GetTrackCount(trackType)``, ``GetItemListInTrack(trackType, index)`` (1-based), ``GetUniqueId()``;
``TimelineItem.GetStart() / GetEnd() / GetDuration() / GetLeftOffset() / GetSourceStartFrame() /
GetMediaPoolItem() / GetName() / GetUniqueId()``; ``MediaPoolItem.GetClipProperty("File Path") -> str``.

Like Resolve, the fake keeps one marker per frame: AddMarker on an occupied frame returns False.
"""

from __future__ import annotations

import itertools

COLOURS = {"Blue", "Cyan", "Green", "Yellow", "Red", "Pink", "Purple", "Fuchsia", "Rose", "Lavender", "Sky", "Mint",
           "Lemon", "Sand", "Cocoa", "Cream"}
_ids = itertools.count(1)


class FakeMediaPoolItem:
    def __init__(self, path: str | None, name: str = "clip"):
        self.path, self.name = path, name

    def GetName(self):
        return self.name

    def GetClipProperty(self, propertyName=None):
        props = {"File Path": self.path or "", "Clip Name": self.name}
        return props if propertyName is None else props.get(propertyName, "")


class FakeTimelineItem:
    def __init__(self, mpi: FakeMediaPoolItem, start: int, left_offset: int, duration: int):
        self.mpi, self.start, self.left, self.duration = mpi, start, left_offset, duration
        self.uid = f"item-{next(_ids)}"

    def GetName(self):
        return self.mpi.name

    def GetStart(self):
        return self.start

    def GetEnd(self):
        return self.start + self.duration

    def GetDuration(self):
        return self.duration

    def GetLeftOffset(self):
        return self.left

    def GetSourceStartFrame(self):
        return self.left

    def GetMediaPoolItem(self):
        return self.mpi

    def GetUniqueId(self):
        return self.uid


class FakeTimeline:
    def __init__(self, name: str, rate: str, drop: bool, start_frame: int, length: int):
        self.name, self.rate, self.drop, self.start, self.length = name, rate, drop, start_frame, length
        self.tracks: list[list[FakeTimelineItem]] = [[]]
        self.markers: dict[int, dict] = {}
        self.uid = f"timeline-{next(_ids)}"
        self.calls: list[str] = []

    # set-up helper (not Resolve API)
    def place(self, track: int, path: str, record_start: int, left_offset: int, duration: int) -> FakeTimelineItem:
        while len(self.tracks) < track:
            self.tracks.append([])
        item = FakeTimelineItem(FakeMediaPoolItem(path, path.rsplit("/", 1)[-1]), record_start, left_offset, duration)
        self.tracks[track - 1].append(item)
        return item

    def GetName(self):
        return self.name

    def GetUniqueId(self):
        return self.uid

    def GetStartFrame(self):
        return self.start

    def GetEndFrame(self):
        return self.start + self.length

    def GetSetting(self, settingName=None):
        return {"timelineFrameRate": self.rate, "timelineDropFrameTimecode": "1" if self.drop else "0"}.get(
            settingName, "")

    def GetTrackCount(self, trackType):
        return len(self.tracks) if trackType == "video" else 0

    def GetItemListInTrack(self, trackType, index):
        assert trackType == "video" and 1 <= index <= len(self.tracks)
        return list(self.tracks[index - 1])

    def AddMarker(self, frameId, color, name, note, duration, customData=""):
        self.calls.append("AddMarker")
        frame = int(frameId)
        if frame != frameId or frame in self.markers or not 0 <= frame < self.length or color not in COLOURS \
                or duration < 1 or not isinstance(name, str) or not isinstance(note, str):
            return False
        self.markers[frame] = {"color": color, "duration": float(duration), "note": note, "name": name,
                               "customData": customData or ""}
        return True

    def GetMarkers(self):
        return {float(f): dict(info) for f, info in self.markers.items()}

    def GetMarkerByCustomData(self, customData):
        return next((dict(v) for _f, v in sorted(self.markers.items()) if v["customData"] == customData), {})

    def UpdateMarkerCustomData(self, frameId, customData):
        if int(frameId) not in self.markers:
            return False
        self.markers[int(frameId)]["customData"] = customData
        return True

    def GetMarkerCustomData(self, frameId):
        return self.markers.get(int(frameId), {}).get("customData", "")

    def DeleteMarkerByCustomData(self, customData):
        self.calls.append("DeleteMarkerByCustomData")
        for frame, info in sorted(self.markers.items()):
            if info["customData"] == customData:
                del self.markers[frame]
                return True
        return False

    def DeleteMarkerAtFrame(self, frameNum):
        return self.markers.pop(int(frameNum), None) is not None

    # what an editor does in Resolve's UI (not API): move, rename, add
    def ui_edit(self, frame: int, *, to: int | None = None, **fields) -> None:
        info = self.markers.pop(frame)
        info.update(fields)
        self.markers[frame if to is None else to] = info


class FakeProject:
    def __init__(self, timeline):
        self.timeline = timeline

    def GetCurrentTimeline(self):
        return self.timeline


class FakeProjectManager:
    def __init__(self, project):
        self.project = project

    def GetCurrentProject(self):
        return self.project


class FakeResolve:
    def __init__(self, timeline: FakeTimeline | None):
        self.pm = FakeProjectManager(FakeProject(timeline) if timeline is not None else None)

    def GetProjectManager(self):
        return self.pm

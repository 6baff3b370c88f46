"""The Resolve plugin (plugins/resolve) against the running review server and a fake of Resolve's objects
(fake_resolve.py; it follows the scripting README shipped with Resolve, see its docstring).

Expected frames are computed here from the known marker times (pluginkit.SCENES/MOMENTS) with exact
fractions and OpenTimelineIO's timecode, independently of the plugin's own arithmetic.
"""

from __future__ import annotations

from fractions import Fraction

import httpx
import pytest
from cogvlm_resolve import host, logic
from cogvlm_resolve.client import Client
from fake_resolve import FakeResolve, FakeTimeline
from opentimelineio import opentime
from pluginkit import MOMENTS, RATES, SCENES, SPECIAL_NAME

from cogvlm_media.export.timeline import resolve_colour

TIMELINES = {  # asset key: (timelineFrameRate setting, drop-frame, start timecode)
    "23.976": ("23.976", False, "01:00:00:00"),
    "25": ("25", False, "01:00:00:00"),
    "29.97df": ("29.97", True, "01:00:00;00"),
    "59.94": ("59.94", False, "01:00:00:00"),
}


def frame_at(seconds: float, rate: Fraction) -> int:
    """round(t × rate) as the archive snaps markers (Python's round: 12.5 s at 25 fps is frame 312)."""
    return round(Fraction(seconds).limit_denominator(10**6) * rate)


def all_marks():
    """(time, duration, name, kind) of every stored marker, from the archive's definition."""
    return [(s, e - s, t, "scene") for s, e, t, _ in SCENES] + [(t, d, n, k) for t, n, _, k, d in MOMENTS]


def make_timeline(key: str, archive: dict, second_use: bool = True) -> tuple[FakeTimeline, dict]:
    setting, drop, start_tc = TIMELINES[key]
    rate = Fraction(RATES[key][0])
    start = opentime.from_timecode(start_tc, float(rate)).to_frames()
    tl = FakeTimeline(f"tl {key}", setting, drop, start, length=frame_at(120, rate))
    path = archive["assets"][key]["path"]
    uses = {"a": dict(track=1, record=start + 100, inp=frame_at(1.0, rate), dur=frame_at(10.0, rate))}
    if second_use:  # the same clip used again, later, on track 2, trimmed to 12 s … 18 s
        uses["b"] = dict(track=2, record=start + 100 + uses["a"]["dur"] + 50, inp=frame_at(12.0, rate),
                         dur=frame_at(6.0, rate))
    for u in uses.values():
        tl.place(u["track"], path, u["record"], u["inp"], u["dur"])
    return tl, {"rate": rate, "start": start, "uses": uses, "drop": drop}


def expected_markers(geo: dict) -> dict[str, tuple[int, int]]:
    """name → (frameId, duration) as the issue's formula gives them, before collision handling."""
    rate, out = geo["rate"], {}
    for (t, d, name, _kind) in all_marks():
        for u in geo["uses"].values():
            f = frame_at(t, rate)
            offset = f - u["inp"]
            if 0 <= offset < u["dur"]:
                frames = frame_at(t + d, rate) - f if d else 0
                out[name] = (u["record"] - geo["start"] + offset, max(1, min(frames, u["dur"] - offset)) if frames else 1)
    return out


@pytest.fixture
def client(server):
    return Client(server.url)


@pytest.mark.parametrize("key", list(TIMELINES))
def test_pull_places_markers_at_the_right_frames_and_a_rerun_adds_nothing(key, plugin_archive, client, server):
    tl, geo = make_timeline(key, plugin_archive)
    report = host.pull(FakeResolve(tl), client)
    want = expected_markers(geo)
    # one clip trimmed to 1 s … 11 s mid-timeline, the same clip again at 12 s … 18 s: the opening scene
    # (0 s) is outside both uses; the scene at 8 s and "Door opens" at 8 s share a frame
    assert set(want) == {"Flash", "Door opens", SPECIAL_NAME, "Speaker: hello", "Logo"}
    got = {info["name"]: (frame, int(info["duration"])) for frame, info in tl.markers.items()}
    assert set(got) == set(want), report.text()
    for name, (frame, duration) in want.items():
        if name == "Door opens":  # the scene keeps the frame, the moment moves to the next free one
            assert got[name] == (frame + 1, 1), report.text()
        else:
            assert got[name] == (frame, duration), (name, report.text())
    assert report.counts == {"added": 5}
    assert any("moved marker 'Door opens'" in line for line in report.lines)
    # names, notes and colours as stored (colour by kind through the one table)
    stored = httpx.get(f"{server.url}/api/v1/assets/{plugin_archive['assets'][key]['id']}/markers").json()["markers"]
    by_name = {mk["name"]: mk for mk in stored}
    for frame, info in tl.markers.items():
        mk = by_name[info["name"]]
        assert info["note"] == mk["note"] and info["color"] == resolve_colour(mk["colour"])
        assert logic.parse_custom_data(info["customData"])[1] == frame
    # a drop-frame timeline labels frames with ';' exactly as OTIO counts them
    frame = min(tl.markers)
    label = logic.timecode(geo["start"] + frame, geo["rate"], geo["drop"])
    assert label == opentime.to_timecode(opentime.RationalTime(geo["start"] + frame, float(geo["rate"])),
                                         float(geo["rate"]), drop_frame=geo["drop"])
    if geo["drop"]:
        assert ";" in label and label.startswith("01:00:")
    # the links are on the server, one per marker and use
    links = client.links(tl.uid)
    assert len(links) == 5 and {lk["use_key"] for lk in links} == {f"item:{it.uid}" for tr in tl.tracks for it in tr}
    before = {f: dict(i) for f, i in tl.markers.items()}
    calls = len(tl.calls)
    again = host.pull(FakeResolve(tl), client)
    assert again.counts == {} and tl.markers == before and len(tl.calls) == calls, again.text()


def test_a_clip_used_twice_gets_markers_on_both_uses(plugin_archive, client):
    tl, geo = make_timeline("25", plugin_archive)
    # the second use covers the first one's range too: the same markers twice, at different frames
    second = geo["uses"]["b"]
    tl.tracks[1][0].left, tl.tracks[1][0].duration = geo["uses"]["a"]["inp"], geo["uses"]["a"]["dur"]
    host.pull(FakeResolve(tl), client)
    flashes = sorted(f for f, info in tl.markers.items() if info["name"] == "Flash")
    assert flashes == [100 + 25, second["record"] - geo["start"] + 25]  # 2.0 s - 1.0 s in point = 25 frames
    keys = {logic.parse_custom_data(info["customData"])[0] for info in tl.markers.values()}
    assert len(keys) == len(tl.markers)  # one key per NLE marker
    assert len(client.links(tl.uid)) == len(tl.markers)


def test_send_edits_stores_verified_markers_and_a_rerun_sends_nothing(plugin_archive, client, server):
    key = "25"
    asset_id = plugin_archive["assets"][key]["id"]
    tl, geo = make_timeline(key, plugin_archive, second_use=False)
    host.pull(FakeResolve(tl), client)
    flash = next(f for f, i in tl.markers.items() if i["name"] == "Flash")
    tl.ui_edit(flash, to=flash + 10, name="Flash (checked)", note="brighter than expected", color="Green")
    tl.markers[300] = {"color": "Red", "duration": 1.0, "note": "added in Resolve", "name": "Boom in shot",
                       "customData": ""}
    tl.markers[5] = {"color": "Red", "duration": 1.0, "note": "", "name": "Before the clip", "customData": ""}
    report = host.push(FakeResolve(tl), client)
    assert report.counts == {"changed": 1, "added": 1}, report.text()
    assert any("Before the clip" in line and "not sent" in line for line in report.lines)
    doc = httpx.get(f"{server.url}/api/v1/assets/{asset_id}").json()
    live = {mk["name"]: mk for mk in doc["markers"]}
    edited = live["Flash (checked)"]
    assert edited["verified"] and edited["source"] == "editor" and edited["colour"] == "GREEN"
    assert edited["note"] == "brighter than expected"
    assert edited["frame"] == frame_at(2.0, geo["rate"]) + 10  # moved ten frames on a 25 fps timeline
    assert any(h["id"] == edited["replaces_id"] and h["name"] == "Flash" for h in doc["history"])
    added = live["Boom in shot"]
    # frameId 300 → 200 frames into the clip (it starts at frameId 100) + the 25-frame in point
    assert added["verified"] and added["kind"] == "editor" and added["frame"] == 225 and added["colour"] == "RED"
    again = host.push(FakeResolve(tl), client)
    assert again.counts == {}, again.text()
    rerun = host.pull(FakeResolve(tl), client)
    assert rerun.counts == {} and not [line for line in rerun.lines if "edited in Resolve" in line], rerun.text()
    # an edit made on the server (review page) since: the next pull replaces the timeline's copy
    r = httpx.patch(f"{server.url}/api/v1/markers/{added['id']}", json={"name": "Boom pole in shot"})
    assert r.status_code == 200
    third = host.pull(FakeResolve(tl), client)
    assert third.counts == {"updated": 1}, third.text()
    assert tl.markers[300]["name"] == "Boom pole in shot"


def test_clear_messages(plugin_archive, tmp_path):
    dead = Client("http://127.0.0.1:9")  # nothing listens on the discard port
    tl, _ = make_timeline("25", plugin_archive)
    with pytest.raises(logic.PluginError, match="not running"):
        host.pull(FakeResolve(tl), dead)
    assert host.main("pull", {"resolve": FakeResolve(None)}) is None  # no project: a message, no traceback


def test_no_clip_matches_and_moved_media_matches_by_content(plugin_archive, client, tmp_path):
    stranger = tmp_path / "never ingested.mp4"
    stranger.write_bytes(b"\x00" * 1000)
    tl = FakeTimeline("strangers", "25", False, 90000, 3000)
    tl.place(1, str(stranger), 90000, 0, 100)
    with pytest.raises(logic.PluginError, match="no clip on this timeline matches"):
        host.pull(FakeResolve(tl), client)
    moved = FakeTimeline("moved", "25", False, 90000, 3000)
    moved.place(1, plugin_archive["moved"], 90000, 0, 500)
    report = host.pull(FakeResolve(moved), client)
    assert report.counts.get("added", 0) >= 5 and "Opening" in {i["name"] for i in moved.markers.values()}


@pytest.mark.parametrize("text,drop,rate,is_drop", [
    ("23.976", "0", Fraction(24000, 1001), False), ("24", "0", Fraction(24), False), ("25", "0", Fraction(25), False),
    ("29.97", "1", Fraction(30000, 1001), True), ("29.97 DF", None, Fraction(30000, 1001), True),
    ("29.970", "0", Fraction(30000, 1001), False), ("59.94", "1", Fraction(60000, 1001), True),
    ("25", "1", Fraction(25), False)])
def test_rates(text, drop, rate, is_drop):
    assert logic.parse_rate(text, drop) == (rate, is_drop)


def test_drop_frame_labels_match_otio():
    for fps, nominal in ((30000 / 1001, 30), (60000 / 1001, 60)):
        for frame in (0, 1, 1799, 1800, 17981, 17982, 107892, 107891, 215784, 3 * 10**6):
            rate = Fraction(30000, 1001) if nominal == 30 else Fraction(60000, 1001)
            assert logic.timecode(frame, rate, True) == opentime.to_timecode(
                opentime.RationalTime(frame, fps), fps, drop_frame=True), frame


def test_conversion_between_rates():
    # a 59.94 asset on a 29.97 timeline: two media frames per timeline frame
    assert logic.asset_to_timeline(121, Fraction(60000, 1001), Fraction(30000, 1001)) == 61
    assert logic.timeline_to_asset(61, Fraction(60000, 1001), Fraction(30000, 1001)) == 122
    assert logic.asset_to_timeline(48, Fraction(24000, 1001), Fraction(24000, 1001)) == 48


def test_send_edits_deletes_in_the_archive_what_the_editor_deleted_on_the_timeline(plugin_archive, client, server):
    """Last in this file: it deletes markers of the 59.94 asset from the shared archive."""
    asset_id = plugin_archive["assets"]["59.94"]["id"]

    def archive():
        doc = httpx.get(f"{server.url}/api/v1/assets/{asset_id}").json()
        return {mk["name"]: mk for mk in doc["markers"]}, {mk["id"]: mk for mk in doc["history"]}

    def frame_of(tl, name):
        return sorted(f for f, info in tl.markers.items() if info["name"] == name)

    # the same clip used twice over the same range: each marker shows twice
    twice, geo = make_timeline("59.94", plugin_archive)
    twice.tracks[1][0].left, twice.tracks[1][0].duration = geo["uses"]["a"]["inp"], geo["uses"]["a"]["dur"]
    host.pull(FakeResolve(twice), client)
    first, second = frame_of(twice, "Flash")
    twice.DeleteMarkerAtFrame(first)
    report = host.push(FakeResolve(twice), client)
    assert report.counts == {}, report.text()  # still shown on the other use: kept in the archive
    assert "Flash" in archive()[0]
    again = host.pull(FakeResolve(twice), client)
    assert again.counts == {} and frame_of(twice, "Flash") == [second], again.text()  # not put back either
    flash_id = archive()[0]["Flash"]["id"]
    twice.DeleteMarkerAtFrame(second)
    report = host.push(FakeResolve(twice), client)
    assert report.counts == {"deleted": 1}, report.text()
    live, history = archive()
    assert "Flash" not in live and flash_id in history  # kept as history, not erased
    assert flash_id not in {link["live_marker_id"] for link in client.links(twice.uid)}
    assert host.push(FakeResolve(twice), client).counts == {}

    # a timeline with none of our markers left: nothing is deleted, and the report says why
    bare, _geo = make_timeline("59.94", plugin_archive, second_use=False)
    host.pull(FakeResolve(bare), client)
    assert bare.markers
    before = set(archive()[0])
    bare.markers.clear()
    report = host.push(FakeResolve(bare), client)
    assert report.counts == {} and any("nothing deleted" in line for line in report.lines), report.text()
    assert set(archive()[0]) == before

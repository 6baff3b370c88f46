"""Export → edit (as an NLE would) → import-markers: exactly the edited markers change; the model's
markers they replace stay as history; deletions count only for formats that carry ids."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from fractions import Fraction

import mediagen
import opentimelineio as otio
import pytest
from exportkit import MOMENTS, SCENES, SECONDS, record, stored

from cogvlm_media.export.formats import all_formats, format_names

SUFFIX = {f.name: f.suffix for f in all_formats() if f.round_trips}  # files as `export` names them


def edit(fmt: str, text: str, rate: float) -> str:
    """Rename 'Flash' to 'Flash (edited)', delete 'Logo', add a marker 'Editor note' — in each format's own way."""
    if fmt == "json":
        data = json.loads(text)
        markers = data["assets"][0]["markers"]
        next(m for m in markers if m["name"] == "Flash")["name"] = "Flash (edited)"
        markers[:] = [m for m in markers if m["name"] != "Logo"]
        markers.append({"frame": 100, "duration_frames": 0, "name": "Editor note", "note": "added", "kind": "editor"})
        return json.dumps(data)
    if fmt == "otio":
        tl = otio.adapters.read_from_string(text, "otio_json")
        (clip,) = tl.find_clips()
        keep = [m for m in clip.markers if m.name != "Logo"]
        next(m for m in keep if m.name == "Flash").name = "Flash (edited)"
        start = clip.media_reference.available_range.start_time
        keep.append(otio.schema.Marker(name="Editor note", comment="added", marked_range=otio.opentime.TimeRange(
            start + otio.opentime.RationalTime(100, start.rate), otio.opentime.RationalTime(0, start.rate))))
        clip.markers[:] = keep
        return otio.adapters.write_to_string(tl, "otio_json")
    if fmt == "edl-resolve":
        blocks = text.split("\r\n\r\n")
        blocks = [b for b in blocks if "|M:Logo |" not in b]
        blocks = [b.replace("|M:Flash |", "|M:Flash (edited) |") for b in blocks]
        first = re.search(r"^\d{3}  001 .*?(\d\d:\d\d:\d\d[:;]\d\d)", text, re.M).group(1)  # 'Opening', frame 0
        drop = ";" in first
        tc_in, tc_out = (otio.opentime.to_timecode(otio.opentime.from_timecode(first, rate)
                                                   + otio.opentime.RationalTime(n, rate), rate, drop)
                         for n in (100, 101))
        event = f"999  001      V     C        {tc_in} {tc_out} {tc_in} {tc_out}  "
        blocks.insert(-1, event + "\r\nadded |C:ResolveColorRose |M:Editor note |D:1")
        return "\r\n\r\n".join(blocks)
    if fmt == "edl":  # no ids, no notes: a recoloured locator is a change, a renamed one would be new
        lines = [line for line in text.split("\n") if not line.rstrip().endswith(" LOGO")]
        first = next(line for line in lines if line.rstrip().endswith(" OPENING")).split()[2]  # frame 0
        at = otio.opentime.to_timecode(otio.opentime.from_timecode(first, rate)
                                       + otio.opentime.RationalTime(100, rate), rate, ";" in first)
        lines = [line.replace("YELLOW  FLASH", "GREEN   FLASH") for line in lines]
        index = next(i for i, line in enumerate(lines) if line.startswith("* LOC:"))
        lines.insert(index, f"* LOC: {at} RED     EDITOR NOTE")
        return "\n".join(lines)
    root = ET.fromstring(text)
    if fmt == "fcp7xml":
        clipitem = root.find(".//clipitem")
        for parent in (clipitem, root.find(".//sequence")):
            for el in parent.findall("marker"):
                if el.findtext("name") == "Logo":
                    parent.remove(el)
        next(el for el in clipitem.findall("marker") if el.findtext("name") == "Flash").find("name").text = "Flash (edited)"
        new = ET.SubElement(root.find(".//sequence"), "marker")
        for tag, value in (("comment", "added"), ("name", "Editor note"), ("in", "100"), ("out", "-1")):
            ET.SubElement(new, tag).text = value
    else:  # fcpxml
        clip = root.find(".//spine/clip")
        for el in clip.findall("marker"):
            if el.get("value") == "Logo":
                clip.remove(el)
            if el.get("value") == "Flash":
                el.set("value", "Flash (edited)")
        start = Fraction(clip.get("start", "0s").rstrip("s"))
        rate = Fraction(root.find(".//format").get("frameDuration").rstrip("s")) ** -1
        at = start + Fraction(100) / rate
        ET.SubElement(clip, "marker", {"start": f"{at.numerator}/{at.denominator}s", "duration": "0s",
                                       "value": "Editor note", "note": "added"})
    return ET.tostring(root, encoding="unicode")


CASES = [("otio", "23.976"), ("edl-resolve", "29.97df"), ("edl", "29.97df"), ("fcp7xml", "59.94"),
         ("fcpxml", "25"), ("json", "23.976"), ("edl-resolve", "25")]


def test_every_format_that_round_trips_is_tried():
    assert sorted({fmt for fmt, _ in CASES}) == sorted(format_names(readable=True))


@pytest.mark.parametrize("fmt,key", CASES)
def test_round_trip_changes_exactly_the_edited_markers(env, assets, tmp_path, fmt, key):
    asset = assets[key]
    before = stored(env, asset)
    out = tmp_path / f"export{SUFFIX[fmt]}"
    env.cli("export", str(asset), "--format", fmt, "-o", str(out))
    # an untouched file changes nothing
    res = env.cli("import-markers", str(out), "--asset", str(asset))
    assert "0 changed, 0 added, 0 deleted" in res.output
    assert stored(env, asset)["markers"] == before["markers"]

    rate = before["asset"]["fps"]["num"] / before["asset"]["fps"]["den"]
    out.write_bytes(edit(fmt, out.read_bytes().decode("utf-8"), rate).encode("utf-8"))
    env.events.clear()
    res = env.cli("import-markers", str(out), "--asset", str(asset))
    after = stored(env, asset)
    ids_before = {m["name"]: m["id"] for m in before["markers"]}
    live = {m["name"]: m for m in after["markers"]}
    history = {m["id"]: m for m in after["history"]}
    carries_ids = fmt != "edl"
    assert env.events == [("asset_changed", asset)]  # search indexes hear about the import

    edited = live["Flash" if fmt == "edl" else "Flash (edited)"]
    assert edited["colour"] == ("GREEN" if fmt == "edl" else "YELLOW")
    assert edited["verified"] and edited["source"] == "editor" and edited["replaces_id"] == ids_before["Flash"]
    assert edited["kind"] == "moment" and edited["frame"] == next(m["frame"] for m in before["markers"]
                                                                   if m["name"] == "Flash")
    assert ids_before["Flash"] in history
    added = live["EDITOR NOTE" if fmt == "edl" else "Editor note"]
    assert added["verified"] and added["replaces_id"] is None and added["frame"] == 100
    if carries_ids:
        assert "Logo" not in live and ids_before["Logo"] in history
        assert history[ids_before["Logo"]]["name"] == "Logo"
    else:
        assert live["Logo"]["id"] == ids_before["Logo"]  # plain EDL has no ids: missing is not deleted
    untouched = {n for n in ids_before if n not in ("Flash", "Logo")}
    for name in untouched:
        assert live[name]["id"] == ids_before[name] and live[name] == next(
            m for m in before["markers"] if m["name"] == name)
    assert len(after["markers"]) == len(SCENES) + len(MOMENTS) - (1 if carries_ids else 0) + 1
    assert f"1 changed, 1 added, {1 if carries_ids else 0} deleted" in res.output

    # verified markers win in the next export
    again = tmp_path / "again.json"
    env.cli("export", str(asset), "--format", "json", "-o", str(again))
    names = [m["name"] for m in json.loads(again.read_text())["assets"][0]["markers"]]
    assert names.count("Flash") == (1 if fmt == "edl" else 0)
    assert "Flash (edited)" in names or fmt == "edl"


def test_fcp7xml_of_a_stereo_file_round_trips(env, tmp_path):
    """A stereo file is one video clipitem and two audio clipitems (one per channel): the markers still come
    back from the video clip and the sequence, unchanged, and an edit changes exactly what was edited."""
    clip = mediagen.tone_clip(tmp_path / "stereo take.mov", fps="25", frames=SECONDS * 25, size="64x48", channels=2)
    asset = record(env.engine, clip.path)
    before = stored(env, asset)
    out = tmp_path / "export.xml"
    env.cli("export", str(asset), "--format", "fcp7xml", "-o", str(out))
    sounds = ET.fromstring(out.read_text(encoding="utf-8")).findall("sequence/media/audio/track/clipitem")
    assert [s.findtext("sourcetrack/trackindex") for s in sounds] == ["1", "2"]
    res = env.cli("import-markers", str(out), "--asset", str(asset))
    assert "0 changed, 0 added, 0 deleted" in res.output
    assert stored(env, asset)["markers"] == before["markers"]
    out.write_text(edit("fcp7xml", out.read_text(encoding="utf-8"), 25.0), encoding="utf-8")
    res = env.cli("import-markers", str(out), "--asset", str(asset))
    assert "1 changed, 1 added, 1 deleted" in res.output
    live = {m["name"]: m for m in stored(env, asset)["markers"]}
    assert "Logo" not in live and live["Flash (edited)"]["verified"] and live["Editor note"]["frame"] == 100


def test_scene_edit_moves_the_scene_link(env, assets, tmp_path):
    asset = assets["25"]
    out = tmp_path / "s.json"
    env.cli("export", str(asset), "--format", "json", "-o", str(out))
    data = json.loads(out.read_text())
    scene = next(m for m in data["assets"][0]["markers"] if m["name"] == "Finale")
    scene["frame"] += 25
    scene["note"] = "Re-timed by the editor"
    out.write_text(json.dumps(data))
    env.cli("import-markers", str(out), "--asset", str(asset))
    doc = stored(env, asset)
    new = next(m for m in doc["markers"] if m["name"] == "Finale")
    assert new["verified"] and new["frame"] == scene["frame"] and new["note"] == "Re-timed by the editor"
    sc = next(s for s in doc["scenes"] if s["title"] == "Finale")
    assert sc["marker_id"] == new["id"]


RESOLVE_STYLE = (  # the structure Resolve writes: CRLF, events out of time order, empty and multi-line notes
    "TITLE: ( no title )\r\n\r\n"
    "001  001      V     C        01:00:02:06 01:00:02:07 01:00:02:06 01:00:02:07  \r\n"
    "Un reflet en haut à gauche |C:ResolveColorYellow |M:Marker 1 |D:1\r\n\r\n"
    "004  001      V     C        01:00:20:10 01:00:20:11 01:00:20:10 01:00:20:11\r\n"
    "long one |C:ResolveColorLavender |M:Ranged Marker |D:301\r\n\r\n"
    "002  001      V     C        01:00:08:00 01:00:08:01 01:00:08:00 01:00:08:01  \r\n"
    " |C:ResolveColorBlue |M:Marker 2 |D:1\r\n\r\n"
    "003  001      V     C        01:00:04:12 01:00:04:13 01:00:04:12 01:00:04:13  \r\n"
    "Tache claire en haut\r\n"
    " |C:ResolveColorSky |M:Marker 3 |D:1\r\n\r\n"
)


def test_import_resolve_written_structure(env, assets, tmp_path):
    asset = assets["25"]  # tagged 10:00:00:00; Resolve's timeline here starts at 01:00:00:00
    path = tmp_path / "resolve.edl"
    path.write_bytes(RESOLVE_STYLE.encode("utf-8"))
    res = env.cli("import-markers", str(path), "--asset", str(asset), "--start-tc", "01:00:00:00")
    assert "0 changed, 4 added, 0 deleted" in res.output  # no ids in Resolve's own markers: nothing deleted
    live = {m["name"]: m for m in stored(env, asset)["markers"]}
    assert live["Marker 1"]["frame"] == 2 * 25 + 6 and live["Marker 1"]["note"] == "Un reflet en haut à gauche"
    assert live["Ranged Marker"]["frame"] == 20 * 25 + 10
    assert live["Ranged Marker"]["duration"] == pytest.approx(301 / 25)
    assert live["Ranged Marker"]["colour"] == "PURPLE" and live["Marker 3"]["colour"] == "CYAN"
    assert live["Marker 2"]["note"] == "" and live["Marker 3"]["note"] == "Tache claire en haut"
    assert all(live[n]["verified"] and live[n]["kind"] == "editor" for n in ("Marker 1", "Marker 2"))

"""import-markers never destroys verified work: a file of another asset is refused (--force imports it without
deleting verified markers), markers outside the media are refused and listed, a timeline-start offset is found
from the ids or refused with the numbers, --dry-run writes nothing, undo-import brings everything back, and in
FCP 7 XML a marker lives only while both of its copies do."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from exportkit import stored


def _lines(res) -> list[str]:
    return [line for line in res.output.splitlines() if line.strip()]


def _verify_flash(env, asset: int, tmp_path) -> None:
    """Make one verified marker: rename 'Flash' through a JSON round trip."""
    out = tmp_path / "verify.json"
    env.cli("export", str(asset), "--format", "json", "-o", str(out))
    data = json.loads(out.read_text())
    next(m for m in data["assets"][0]["markers"] if m["name"] == "Flash")["name"] = "Flash (verified)"
    out.write_text(json.dumps(data))
    env.cli("import-markers", str(out), "--asset", str(asset))


def test_a_file_of_another_asset_is_refused_with_the_evidence(env, assets, tmp_path):
    target, other = assets["25"], assets["23.976"]
    _verify_flash(env, target, tmp_path)
    before = stored(env, target)
    for fmt, suffix in (("otio", ".otio"), ("json", ".markers.json"), ("fcp7xml", ".xml"), ("fcpxml", ".fcpxml"),
                        ("edl", ".edl")):
        path = tmp_path / f"other{suffix}"
        env.cli("export", str(other), "--format", fmt, "-o", str(path))
        res = env.cli("import-markers", str(path), "--asset", str(target), ok=False)
        lines = _lines(res)
        assert res.exit_code != 0 and len(lines) == 1, (fmt, res.output)
        assert lines[0].startswith(f"error: other{suffix} does not belong to asset {target} (export_25.mp4, 36.00 s)")
        assert "its media file is export_23.976.mp4" in lines[0] and "--force" in lines[0], lines[0]
        if fmt in ("otio", "json"):
            assert f"it was exported from asset {other}" in lines[0]
        assert stored(env, target) == before


def test_force_imports_but_never_deletes_verified_markers(env, assets, tmp_path):
    target, other = assets["25"], assets["23.976"]
    _verify_flash(env, target, tmp_path)
    path = tmp_path / "other.otio"
    env.cli("export", str(other), "--format", "otio", "-o", str(path))
    res = env.cli("import-markers", str(path), "--asset", str(target), "--force")
    assert ", 0 deleted," in res.output and "(imported: --force)" in res.output, res.output
    # the asset's own export, relinked to another file, with the verified marker and 'Logo' gone
    own = tmp_path / "own.otio"
    env.cli("export", str(target), "--format", "otio", "-o", str(own))
    text = own.read_text().replace("export_25.mp4", "elsewhere.mp4")
    data = json.loads(text)
    clip = data["tracks"]["children"][0]["children"][0]
    clip["markers"] = [m for m in clip["markers"] if m["name"] not in ("Flash (verified)", "Logo")]
    own.write_text(json.dumps(data))
    refused = env.cli("import-markers", str(own), "--asset", str(target), ok=False)
    assert refused.exit_code != 0 and "its media file is elsewhere.mp4" in refused.output
    res = env.cli("import-markers", str(own), "--asset", str(target), "--force")
    live = {m["name"]: m for m in stored(env, target)["markers"]}
    assert live["Flash (verified)"]["verified"] and "Logo" not in live  # the model's marker goes, the editor's stays
    assert "kept verified marker" in res.output and "'Flash (verified)'" in res.output
    assert ", 1 deleted, 1 refused" in res.output, res.output


RESOLVE_SAMPLE = (  # the structure of Resolve's own marker EDL: timeline at 01:00:00:00, markers far apart
    "TITLE: ( no title )\r\n\r\n"
    "001  001      V     C        01:00:18:06 01:00:18:07 01:00:18:06 01:00:18:07  \r\n"
    "Poil noire gauche cadre |C:ResolveColorYellow |M:Marker 1 |D:1\r\n\r\n"
    "002  001      V     C        01:00:20:20 01:00:20:21 01:00:20:20 01:00:20:21  \r\n"
    "Son en avance |C:ResolveColorGreen |M:Marker 2 |D:1\r\n\r\n"
    "003  001      V     C        01:00:42:21 01:00:42:22 01:00:42:21 01:00:42:22  \r\n"
    "Tache d'eau |C:ResolveColorBlue |M:Marker 3 |D:1\r\n\r\n"
    "007  001      V     C        01:04:55:22 01:04:55:23 01:04:55:22 01:04:55:23\r\n"
    "test 25:01 |C:ResolveColorYellow |M:Yellow Marker |D:601\r\n\r\n"
    "008  001      V     C        01:44:35:12 01:44:35:13 01:44:35:12 01:44:35:13  \r\n"
    " |C:ResolveColorBlue |M:Marker 130 |D:1\r\n\r\n"
)


def test_markers_outside_the_media_are_refused_and_listed(env, assets, tmp_path):
    asset = assets["25"]  # 36 s
    path = tmp_path / "resolve.edl"
    path.write_bytes(RESOLVE_SAMPLE.encode("utf-8"))
    res = env.cli("import-markers", str(path), "--asset", str(asset), "--start-tc", "01:00:00:00")
    assert "0 changed, 2 added, 0 deleted, 3 refused" in res.output
    for name, seconds in (("Marker 3", "42.84 s"), ("Yellow Marker", "295.88 s"), ("Marker 130", "2675.48 s")):
        assert f"refused marker {name!r} at {seconds}" in res.output, res.output
    live = {m["name"]: m for m in stored(env, asset)["markers"]}
    assert live["Marker 1"]["frame"] == 18 * 25 + 6 and live["Marker 2"]["frame"] == 20 * 25 + 20
    assert not {"Marker 3", "Yellow Marker", "Marker 130"} & set(live)
    assert all(0 <= m["time"] <= 36.0 for m in live.values())


def test_a_timeline_start_offset_is_found_from_the_ids(env, assets, tmp_path):
    asset = assets["25"]  # tagged 10:00:00:00
    before = stored(env, asset)
    path = tmp_path / "late.edl"
    env.cli("export", str(asset), "--format", "edl-resolve", "--start-tc", "01:00:05:00", "-o", str(path))
    res = env.cli("import-markers", str(path), "--asset", str(asset))
    assert "0 changed, 0 added, 0 deleted, 0 refused" in res.output, res.output
    assert "the timeline starts at 01:00:05:00, not 10:00:00:00 (the file's timecode)" in res.output
    assert stored(env, asset)["markers"] == before["markers"]


def test_a_timeline_start_that_fits_nothing_is_refused_with_the_numbers(env, assets, tmp_path):
    asset = assets["25"]
    before = stored(env, asset)
    path = tmp_path / "resolve.edl"
    path.write_bytes(("TITLE: Timeline 1\r\n\r\n001  001      V     C        01:00:05:00 01:00:05:01 01:00:05:00 "
                      "01:00:05:01  \r\n |C:ResolveColorRed |M:Cut here |D:1\r\n\r\n").encode("utf-8"))
    res = env.cli("import-markers", str(path), "--asset", str(asset), ok=False)
    lines = _lines(res)
    assert res.exit_code != 0 and len(lines) == 1, res.output
    assert "10:00:00:00 (the file's timecode)" in lines[0] and "01:00:05:00" in lines[0] and "--start-tc" in lines[0]
    assert stored(env, asset) == before  # nothing clamped to 0.0 s
    env.cli("import-markers", str(path), "--asset", str(asset), "--start-tc", "01:00:00:00")
    live = {m["name"]: m for m in stored(env, asset)["markers"]}
    assert live["Cut here"]["frame"] == 5 * 25


def _edited_json(env, asset: int, tmp_path):
    out = tmp_path / "edit.json"
    env.cli("export", str(asset), "--format", "json", "-o", str(out))
    data = json.loads(out.read_text())
    markers = data["assets"][0]["markers"]
    next(m for m in markers if m["name"] == "Flash")["name"] = "Flash (edited)"
    next(m for m in markers if m["name"] == "Finale")["frame"] += 25  # a scene: its link moves
    markers[:] = [m for m in markers if m["name"] != "Logo"]
    markers.append({"frame": 100, "duration_frames": 0, "name": "Editor note", "note": "added", "kind": "editor"})
    out.write_text(json.dumps(data))
    return out


def test_dry_run_prints_the_plan_and_writes_nothing(env, assets, tmp_path):
    asset = assets["25"]
    before = stored(env, asset)
    out = _edited_json(env, asset, tmp_path)
    res = env.cli("import-markers", str(out), "--asset", str(asset), "--dry-run")
    lines = _lines(res)
    assert lines[-1] == (f"dry run, nothing written: json into asset {asset} (export_25.mp4): "
                         "4 unchanged, 2 changed, 1 added, 1 deleted, 0 refused")
    assert any(line.strip().startswith("add") and "'Editor note'" in line for line in lines)
    assert any(line.strip().startswith("change") and "'Flash' -> 'Flash (edited)'" in line for line in lines)
    assert any(line.strip().startswith("change") and "'Finale'" in line and "-> 25.48 s" in line for line in lines)
    assert any(line.strip().startswith("delete") and "'Logo'" in line for line in lines)
    assert stored(env, asset) == before and env.events == []


def test_undo_import_brings_back_what_it_replaced_or_deleted(env, assets, tmp_path):
    asset = assets["25"]
    before = stored(env, asset)
    out = _edited_json(env, asset, tmp_path)
    res = env.cli("import-markers", str(out), "--asset", str(asset))
    summary = _lines(res)[-1]
    assert summary.startswith("import ") and f"json into asset {asset} (export_25.mp4):" in summary
    import_id = summary.split()[1].rstrip(":")
    assert f"undo-import {import_id}" in summary
    assert stored(env, asset) != before
    env.events.clear()
    res = env.cli("undo-import", import_id)
    assert f"undid import {import_id} into asset {asset}: 3 markers back, 3 removed" in res.output
    after = stored(env, asset)
    # the same markers as before, field for field; only their edit revision moved on (replaced, then restored)
    assert all(a["revision"] > b["revision"] for a, b in zip(after["markers"], before["markers"]) if a != b)
    def unrevised(rows):
        return [{k: v for k, v in r.items() if k != "revision"} for r in rows]
    assert unrevised(after["markers"]) == unrevised(before["markers"])
    assert unrevised(after["history"]) == unrevised(before["history"])
    assert after["scenes"] == before["scenes"]  # the scene's marker link is back on its marker
    assert env.events == [("asset_changed", asset)]
    again = env.cli("undo-import", import_id, ok=False)
    assert again.exit_code != 0 and "already undone" in _lines(again)[0] and len(_lines(again)) == 1


def test_undo_import_refuses_when_a_later_import_changed_its_markers(env, assets, tmp_path):
    asset = assets["25"]
    _verify_flash(env, asset, tmp_path)  # import 1
    out = tmp_path / "second.json"
    env.cli("export", str(asset), "--format", "json", "-o", str(out))
    data = json.loads(out.read_text())
    next(m for m in data["assets"][0]["markers"] if m["name"] == "Flash (verified)")["name"] = "Flash (twice)"
    out.write_text(json.dumps(data))
    env.cli("import-markers", str(out), "--asset", str(asset))  # import 2 replaces import 1's marker
    before = stored(env, asset)
    res = env.cli("undo-import", "1", ok=False)
    assert res.exit_code != 0 and "undo-import 2 first" in _lines(res)[0] and len(_lines(res)) == 1
    assert stored(env, asset) == before
    env.cli("undo-import", "2")
    env.cli("undo-import", "1")
    assert "Flash" in {m["name"] for m in stored(env, asset)["markers"]}


def _fcp7(env, asset: int, tmp_path):
    path = tmp_path / "seq.xml"
    env.cli("export", str(asset), "--format", "fcp7xml", "-o", str(path))
    root = ET.fromstring(path.read_text(encoding="utf-8"))
    return path, root, root.find(".//clipitem"), root.find(".//sequence")


def _marker(parent, name: str):
    return next(el for el in parent.findall("marker") if el.findtext("name") == name)


def test_fcp7xml_deleting_the_sequence_copy_deletes_the_marker(env, assets, tmp_path):
    asset = assets["25"]
    path, root, clip, sequence = _fcp7(env, asset, tmp_path)
    sequence.remove(_marker(sequence, "Logo"))  # the clip's copy stays
    path.write_text(ET.tostring(root, encoding="unicode"), encoding="utf-8")
    res = env.cli("import-markers", str(path), "--asset", str(asset))
    assert "0 changed, 0 added, 1 deleted" in res.output, res.output
    doc = stored(env, asset)
    assert "Logo" not in {m["name"] for m in doc["markers"]} and "Logo" in {m["name"] for m in doc["history"]}


def test_fcp7xml_of_two_edited_copies_the_sequence_copy_wins(env, assets, tmp_path):
    asset = assets["25"]
    path, root, clip, sequence = _fcp7(env, asset, tmp_path)
    _marker(clip, "Flash").find("name").text = "Flash (clip copy)"
    _marker(sequence, "Flash").find("name").text = "Flash (sequence copy)"
    path.write_text(ET.tostring(root, encoding="unicode"), encoding="utf-8")
    res = env.cli("import-markers", str(path), "--asset", str(asset))
    assert "1 changed, 0 added, 0 deleted" in res.output, res.output
    names = {m["name"] for m in stored(env, asset)["markers"]}
    assert "Flash (sequence copy)" in names and "Flash (clip copy)" not in names

"""People end to end: faces clustered across files as they arrive, named once, found by search and exported.

Truth (tests/facekit.py): a.mp4 shows the astronaut 2-6 s; b.mp4 shows Grace Hopper 1-4 s and the
astronaut (scaled, shifted, re-lit, rotated) 3-8 s; c.mp4 shows nobody. Frames are sampled every 1 s,
so a start or end is right within one sample.
"""

from __future__ import annotations

import json

import pytest
from facekit import Appearance, face_clip
from typer.testing import CliRunner

from cogvlm_media.cli.app import app

INTERVAL = 1.0


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("COGVLM_MEDIA_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("COGVLM_MEDIA_DB", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    config = tmp_path / "cfg" / "cogvlm-media" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f"[analysis]\nface_interval = {INTERVAL}\nface_detect_width = 960\n")
    return tmp_path / "home"


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("faces")
    return {
        "a": face_clip(folder / "a.mp4", [Appearance("astronaut", 2, 6, 100, 14)]),
        "b": face_clip(folder / "b.mp4", [Appearance("hopper", 1, 4, 20, 40, scale=0.8),
                                          Appearance("astronaut", 3, 8, 460, 30, scale=0.95, brightness=0.75,
                                                     rotate=5)]),
        "c": face_clip(folder / "c.mp4", [], seconds=6.0),
    }


def cli(*args: str):
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def people() -> list[dict]:
    return json.loads(cli("people", "--json").stdout)


def spans(person: str) -> list[tuple[str, float, float]]:
    doc = json.loads(cli("search", "--person", person, "--json").stdout)
    return [(a["file"].rsplit("/", 1)[-1], a["start"], a["end"]) for a in doc["appearances"]]


def near(value: float, truth: float) -> bool:
    return truth - INTERVAL <= value <= truth + INTERVAL


def test_people_cluster_name_search_export_merge_split(home, clips, tmp_path):
    for key in "abc":  # one at a time: the clustering is incremental
        cli("ingest", "-q", str(clips[key]))
    found = people()
    assert [(p["assets"], p["appearances"]) for p in found] == [(2, 2), (1, 1)]
    astronaut, hopper = found[0]["id"], found[1]["id"]
    assert found[0]["name"] is None and found[0]["label"] == f"Person {astronaut}"

    a = spans(str(astronaut))
    assert [s[0] for s in a] == ["a.mp4", "b.mp4"]
    assert near(a[0][1], 2) and near(a[0][2], 6) and near(a[1][1], 3) and near(a[1][2], 8)
    (h,) = spans(str(hopper))
    assert h[0] == "b.mp4" and near(h[1], 1) and near(h[2], 4)

    # naming once reaches every appearance in every file
    assert "in 2 file(s)" in cli("people", "name", str(astronaut), "Maria Keller").stdout
    cli("reindex")
    for asset in ("1", "2"):
        markers = json.loads(cli("show", asset, "--json").stdout)["markers"]
        named = [m for m in markers if m["kind"] == "person" and m["name"] == "Maria Keller"]
        assert len(named) == 1 and named[0]["colour"] == "PURPLE" and named[0]["source"] == "faces"
    assert [m for m in json.loads(cli("show", "3", "--json").stdout)["markers"] if m["kind"] == "person"] == []
    assert spans("maria keller") == a

    hits = json.loads(cli("search", "Maria Keller", "--kind", "person", "--json").stdout)["hits"]
    assert sorted((h["asset_id"], round(h["time"], 1)) for h in hits) == [(1, a[0][1]), (2, a[1][1])]
    within = json.loads(cli("search", "Maria Keller", "--person", str(hopper), "--json").stdout)["hits"]
    assert within and all(h["asset_id"] == 2 for h in within)  # only hits overlapping Hopper's time in b.mp4

    out = tmp_path / "b.otio"
    cli("export", "2", "--format", "otio", "-o", str(out))
    assert "Maria Keller" in out.read_text()

    # split the astronaut's faces in b.mp4 off, then merge them back: the name comes back with them
    cli("people", "split", "Maria Keller", "--asset", "2")
    after = {p["id"]: p for p in people()}
    assert len(after) == 3 and after[astronaut]["assets"] == 1
    new = max(after)
    assert after[new]["name"] is None and spans(str(new))[0][0] == "b.mp4"
    cli("people", "merge", str(astronaut), str(new))
    merged = people()
    assert [(p["id"], p["name"], p["assets"]) for p in merged] == [(astronaut, "Maria Keller", 2), (hopper, None, 1)]
    assert spans("Maria Keller") == a


def test_unknown_person_is_one_line(home):
    result = CliRunner().invoke(app, ["people", "name", "42", "Nobody"])
    assert result.exit_code == 1 and result.output.strip().splitlines() == ["error: no person '42' (see `cogvlm-media people`)"]

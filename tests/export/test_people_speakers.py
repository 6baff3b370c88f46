"""Exports carry who is seen and who speaks: the OTIO clip's ``cogvlm_media`` metadata and the JSON list
hold the asset's appearances (person id, name or null, start, end) and speaker turns (label, name or null,
start, end), exactly as stored; the other timeline formats still write, and importing the files back
ignores these lists (nothing changes)."""

from __future__ import annotations

import json

import numpy as np
import opentimelineio as otio
import pytest
from exportkit import MOMENTS, SCENES, record, stored

from cogvlm_media import records
from cogvlm_media.store.engine import write_session
from cogvlm_media.store.people import Person
from cogvlm_media.store.people_writer import name_person, record_faces
from cogvlm_media.store.speakers import name_speaker

# two voices at cosine distance 1, three turns at known times
VOICE_A, VOICE_B = np.zeros(256), np.zeros(256)
VOICE_A[:128], VOICE_B[128:] = 1 / np.sqrt(128), 1 / np.sqrt(128)
TURNS = [(1.0, 4.5, "Speaker 1", "Good morning to you."), (5.0, 9.25, "Speaker 2", "Glad to be here."),
         (10.0, 12.5, "Speaker 1", "Shall we begin?")]
SAMPLES = tuple(float(t) for t in range(0, 36, 3))  # faces looked for every 3 s of the 36 s clip


def face_vector(axis: int) -> tuple[float, ...]:
    v = np.zeros(128)
    v[axis] = 1.0
    return tuple(v)


def faces(axis: int, times, track: int) -> list[records.Face]:
    return [records.Face(t, int(t * 25), (0.1 + 0.4 * axis, 0.1, 0.2, 0.3), 1.1, face_vector(axis), track)
            for t in times]


@pytest.fixture
def asset(env, clips) -> dict:
    """The 25 fps clip (start timecode 10:00:00:00) with three turns of two voices and two people:
    the first seen on samples 3–9 s and 27–30 s, the second on 15–18 s. One voice and one person named."""
    transcript = records.Transcript("en", tuple(records.SpeechSegment(i, a, b, text, (), label)
                                                for i, (a, b, label, text) in enumerate(TURNS)))
    diarization = records.Diarization(
        "resemblyzer-0.1.4", 0.27, tuple(records.SpeakerTurn(a, b, label) for a, b, label, _ in TURNS),
        (records.SpeakerVoice("Speaker 1", 6.0, tuple(VOICE_A)), records.SpeakerVoice("Speaker 2", 4.25, tuple(VOICE_B))))
    asset_id = record(env.engine, clips["25"].path, transcript=transcript, speakers=diarization)
    detections = records.FaceDetections("dlib-test", SAMPLES, tuple(
        faces(0, [3.0, 6.0, 9.0], 1) + faces(1, [15.0, 18.0], 2) + faces(0, [27.0, 30.0], 3)))
    with write_session(env.engine) as session:
        record_faces(session, asset_id, detections, duration=36.0, threshold=0.5)
        maria, other = (p.id for p in session.query(Person).order_by(Person.id))
        name_person(session, maria, "Maria Keller")
        name_speaker(session, asset_id, "Speaker 2", "Jon Ortega", 0.25)
    return {"id": asset_id, "maria": maria, "other": other}


def expected(asset: dict) -> tuple[list[dict], list[dict]]:
    people = [{"person_id": asset["maria"], "name": "Maria Keller", "start": 3.0, "end": 12.0},
              {"person_id": asset["other"], "name": None, "start": 15.0, "end": 21.0},
              {"person_id": asset["maria"], "name": "Maria Keller", "start": 27.0, "end": 33.0}]
    turns = [{"label": "Speaker 1", "name": None, "start": 1.0, "end": 4.5},
             {"label": "Speaker 2", "name": "Jon Ortega", "start": 5.0, "end": 9.25},
             {"label": "Speaker 1", "name": None, "start": 10.0, "end": 12.5}]
    return people, turns


def test_otio_clip_metadata_carries_appearances_and_turns(env, asset, tmp_path):
    out = tmp_path / "people.otio"
    env.cli("export", str(asset["id"]), "--format", "otio", "-o", str(out))
    timeline = otio.adapters.read_from_file(str(out))
    video = timeline.video_tracks()[0]
    (clip,) = video.find_clips()
    meta = clip.metadata["cogvlm_media"]
    people, turns = expected(asset)
    assert meta["asset_id"] == asset["id"]
    assert [dict(a) for a in meta["appearances"]] == people
    assert [dict(t) for t in meta["speaker_turns"]] == turns
    # the appearances are also person markers, named as the people are
    person_markers = sorted((m.marked_range.start_time.to_frames() - 10 * 3600 * 25, m.name)
                            for m in clip.markers if m.metadata["cogvlm_media"]["kind"] == "person")
    assert person_markers == [(75, "Maria Keller"), (375, "Person %d" % asset["other"]), (675, "Maria Keller")]

    # read back: the lists are ignored, nothing changes
    before = stored(env, asset["id"])
    result = env.cli("import-markers", str(out), "--asset", str(asset["id"]))
    assert "0 changed, 0 added, 0 deleted" in result.output
    assert stored(env, asset["id"])["markers"] == before["markers"]


def test_json_list_carries_appearances_and_turns(env, asset, tmp_path):
    out = tmp_path / "people.markers.json"
    env.cli("export", str(asset["id"]), "--format", "json", "-o", str(out))
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["format"] == "cogvlm-media-markers" and data["schema_version"] == 1
    (entry,) = data["assets"]
    people, turns = expected(asset)
    assert entry["appearances"] == people
    assert entry["speaker_turns"] == turns
    assert len(entry["markers"]) == len(SCENES) + len(MOMENTS) + len(people)

    before = stored(env, asset["id"])
    result = env.cli("import-markers", str(out), "--asset", str(asset["id"]))
    assert "0 changed, 0 added, 0 deleted" in result.output
    assert stored(env, asset["id"])["markers"] == before["markers"]
    # an edit next to the lists still comes back
    entry["markers"][0]["name"] = "Opening (edited)"
    out.write_text(json.dumps(data), encoding="utf-8")
    result = env.cli("import-markers", str(out), "--asset", str(asset["id"]))
    assert "1 changed, 0 added, 0 deleted" in result.output


def test_an_asset_without_people_or_speakers_has_empty_lists(env, clips, tmp_path):
    asset_id = record(env.engine, clips["23.976"].path)
    out = tmp_path / "plain.otio"
    env.cli("export", str(asset_id), "--format", "otio", "-o", str(out))
    (clip,) = otio.adapters.read_from_file(str(out)).video_tracks()[0].find_clips()
    assert list(clip.metadata["cogvlm_media"]["appearances"]) == []
    assert list(clip.metadata["cogvlm_media"]["speaker_turns"]) == []
    listed = tmp_path / "plain.markers.json"
    env.cli("export", str(asset_id), "--format", "json", "-o", str(listed))
    (entry,) = json.loads(listed.read_text())["assets"]
    assert entry["appearances"] == [] and entry["speaker_turns"] == []


@pytest.mark.parametrize("fmt", ["fcp7xml", "fcpxml", "edl", "edl-resolve", "csv"])
def test_other_formats_still_write_and_read_back(env, asset, tmp_path, fmt):
    out = tmp_path / f"people.{fmt}"
    env.cli("export", str(asset["id"]), "--format", fmt, "-o", str(out))
    assert "Maria Keller" in out.read_text(encoding="utf-8-sig").replace("MARIA KELLER", "Maria Keller")
    if fmt in ("fcp7xml", "fcpxml", "edl-resolve"):
        result = env.cli("import-markers", str(out), "--asset", str(asset["id"]), "--format", fmt)
        assert "0 changed, 0 added, 0 deleted" in result.output

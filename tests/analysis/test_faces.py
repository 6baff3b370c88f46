"""The faces stage on real photographs shipped in packages (tests/facekit.py names them), with known truth."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import numpy as np
import pytest
from facekit import Appearance, face_clip, photo

from cogvlm_media.analysis import face_stage, faces
from cogvlm_media.analysis.stage import StageInput
from cogvlm_media.config import AnalysisSettings, Settings
from cogvlm_media.media.frames import decoded_frame_times
from cogvlm_media.media.probe import probe

SETTINGS = Settings(analysis=AnalysisSettings(face_interval=1.0, face_detect_width=960))


def run_stage(path: Path, shot_starts=(), settings: Settings = SETTINGS):
    media = probe(path)
    item = StageInput(str(path), media, settings, decoded_frame_times(path))
    return face_stage.detect_faces(item, lambda done, total: None, list(shot_starts))


def test_sample_frames_shot_starts_then_every_interval():
    times = np.arange(100) / 10.0  # 10 fps, 10 s
    # shots start at frames 0, 25 and 70; every 3 s within each shot, never past its end
    assert face_stage.sample_frames(times, [25, 70], 3.0) == [0, 25, 55, 70]
    assert face_stage.sample_frames(times, [], 4.0) == [0, 40, 80]
    assert face_stage.sample_frames(np.zeros(0), [], 1.0) == []


def test_detector_finds_the_astronaut_and_not_her_mission_patch():
    model = faces.load_face_model()
    astronaut = np.asarray(photo("astronaut"))
    found = model.detect(astronaut, min_score=0.5)
    assert len(found) == 1
    left, top, width, height = found[0].box
    assert 160 <= left <= 200 and 60 <= top <= 100 and 70 <= width <= 110  # her face, upper middle
    # below the threshold the detector also scores the embroidered face on her mission patch (lower left)
    weak = model.detect(astronaut, min_score=-0.5)
    assert len(weak) == 2 and weak[1].score < 0.5 and weak[1].box[1] > 300
    hopper = model.detect(np.asarray(photo("hopper")), min_score=0.5)
    assert len(hopper) == 1
    assert model.version.startswith("dlib-") and "resnet_v1" in model.version


def test_embedding_distances_same_person_under_threshold_others_over():
    model = faces.load_face_model()

    def embed(image):
        arr = np.asarray(image)
        return model.embed(arr, model.detect(arr, 0.5)[0].box)

    base = photo("astronaut")
    changed = base.rotate(5, resample=3).resize((480, 480))
    a, a2, h = embed(base), embed(changed), embed(photo("hopper"))
    threshold = AnalysisSettings().face_threshold
    assert np.linalg.norm(a - a2) < threshold - 0.2
    assert np.linalg.norm(a - h) > threshold + 0.1


def test_stage_finds_faces_at_known_times_and_positions(tmp_path):
    clip = face_clip(tmp_path / "two.mp4", [Appearance("hopper", 1, 4, 20, 40, scale=0.8),
                                            Appearance("astronaut", 3, 8, 460, 30, scale=0.95, brightness=0.75,
                                                       rotate=5)])
    found = run_stage(clip)
    assert found.sample_times == tuple(float(t) for t in range(10))
    by_track: dict[int, list] = {}
    for face in found.faces:
        by_track.setdefault(face.track, []).append(face)
    assert len(by_track) == 2  # one track per person: embedded once each, the later samples reuse it
    hopper, astronaut = sorted(by_track.values(), key=lambda fs: fs[0].time)
    assert [f.time for f in hopper] == [1.0, 2.0, 3.0, 4.0]
    assert [f.time for f in astronaut] == [3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    assert all(f.box[0] < 0.45 for f in hopper) and all(f.box[0] > 0.48 for f in astronaut)
    assert len({f.embedding for f in astronaut}) == 1
    assert np.linalg.norm(np.subtract(hopper[0].embedding, astronaut[0].embedding)) > 0.6


def test_a_new_shot_starts_a_new_track(tmp_path):
    clip = face_clip(tmp_path / "one.mp4", [Appearance("astronaut", 2, 6, 100, 14)])
    found = run_stage(clip, shot_starts=[40])  # a shot boundary at 4.0 s
    assert [f.time for f in found.faces] == [2.0, 3.0, 4.0, 5.0, 6.0]
    assert [f.track for f in found.faces] == [1, 1, 2, 2, 2]


def test_no_faces_gives_empty_results(tmp_path):
    found = run_stage(face_clip(tmp_path / "empty.mp4", [], seconds=4.0))
    assert found.faces == () and found.sample_times == (0.0, 1.0, 2.0, 3.0) and found.skipped == ()


def test_missing_models_give_one_clear_line(tmp_path, monkeypatch, caplog):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "face_recognition_models" else real(name, *a))
    faces.load_face_model.cache_clear()
    face_stage._warned.clear()
    try:
        with pytest.raises(faces.FaceModelMissing) as info:
            faces.FaceModel()
        assert str(info.value) == "faces: the face models are not installed (pip install 'cogvlm-media[see]')"
        clip = face_clip(tmp_path / "one.mp4", [], seconds=2.0)
        item = StageInput(str(clip), probe(clip), SETTINGS, decoded_frame_times(clip))
        with caplog.at_level(logging.WARNING, logger="cogvlm_media.analysis.face_stage"):
            assert face_stage.faces_stage(item, lambda d, t: None) is None
            assert face_stage.faces_stage(item, lambda d, t: None) is None
        lines = [r.getMessage() for r in caplog.records if r.name == "cogvlm_media.analysis.face_stage"]
        assert lines == ["faces: the face models are not installed (pip install 'cogvlm-media[see]'); "
                         "people are not detected"]
    finally:
        faces.load_face_model.cache_clear()


def test_faces_can_be_switched_off():
    assert face_stage.faces_enabled(Settings())
    assert not face_stage.faces_enabled(Settings(analysis=AnalysisSettings(faces=False)))


def test_a_corrupt_frame_is_skipped_with_its_reason(tmp_path, monkeypatch, caplog):
    from cogvlm_media.media import frames

    clip = face_clip(tmp_path / "one.mp4", [Appearance("astronaut", 2, 6, 100, 14)])
    real = frames._reader

    class Damaged:  # the real decoder, except that frame 30 (3.0 s) cannot be decoded
        def __init__(self, *args):
            self.inner = real(*args)

        def get_batch(self, indices):
            if 30 in indices:
                raise RuntimeError("corrupt packet")
            return self.inner.get_batch(indices)

        def __getitem__(self, index):
            if index == 30:
                raise RuntimeError("error while decoding MB 3 7")
            return self.inner[index]

    item = StageInput(str(clip), probe(clip), SETTINGS, decoded_frame_times(clip))
    monkeypatch.setattr(frames, "_reader", Damaged)
    with caplog.at_level(logging.WARNING, logger="cogvlm_media.analysis.face_stage"):
        found = face_stage.detect_faces(item, lambda done, total: None, [])
    assert found.skipped == ("frame 30: error while decoding MB 3 7",)
    assert [f.time for f in found.faces] == [2.0, 4.0, 5.0, 6.0]  # the other samples still read
    assert any("skipped frame 30: error while decoding MB 3 7" in r.getMessage() for r in caplog.records)

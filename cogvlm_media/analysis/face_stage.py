"""The ``faces`` ingest stage: faces on sampled frames, each with its embedding.

Frames are sampled at every shot start and then every ``[analysis] face_interval`` seconds within the
shot (never every frame), scaled to ``face_detect_width`` and searched with the HOG detector. A face
that overlaps one found on the previous sample of the same shot (IoU >= 0.5) is the same track and
reuses its embedding, so a long interview shot is embedded once, not once per sample. A frame that
cannot be decoded is skipped with its reason logged.

In the ingest pipeline (CPU path) the stage does not wait for the shots: its frames come from the decode
shared with shot detection (``media/shared_decode.py``), sampled every ``STREAM_STEP`` s, and a shot
start is the first sample after a cut that the samples' grey thumbnails show (the text stage's check);
there it looks at that sample and then one every ``face_interval`` seconds. Clustering into people happens in the store
(:mod:`cogvlm_media.store.people_writer`), across the whole archive.
"""

from __future__ import annotations

import logging

import numpy as np

from cogvlm_media import records
from cogvlm_media.analysis.faces import FaceModelMissing, load_face_model
from cogvlm_media.analysis.stage import Stage, StageInput, StageProgress
from cogvlm_media.config import Settings
from cogvlm_media.hookspecs import hookimpl
from cogvlm_media.media.frames import iter_frames

log = logging.getLogger(__name__)
SAME_TRACK_IOU = 0.5
STREAM_STEP = 0.5  # seconds between the frames sampled for faces from the decode shared with the shots
_warned: set[str] = set()


def sample_frames(frame_times: np.ndarray, shot_starts: list[int], interval: float) -> list[int]:
    """Frame indices to look at: each shot's first frame, then one every ``interval`` seconds."""
    n = len(frame_times)
    if n == 0:
        return []
    starts = sorted({0, *(s for s in shot_starts if 0 <= s < n)})
    picked: list[int] = []
    for i, first in enumerate(starts):
        stop = starts[i + 1] if i + 1 < len(starts) else n
        t = float(frame_times[first])
        while True:
            index = int(np.searchsorted(frame_times, t, side="left"))
            if index >= stop:
                break
            if not picked or index > picked[-1]:
                picked.append(index)
            t += interval
    return picked


def _iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = min(ax + aw, bx + bw) - max(ax, bx)
    h = min(ay + ah, by + bh) - max(ay, by)
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / float(aw * ah + bw * bh - inter)


def _size(media, width: int) -> tuple[int, int]:
    if not media.width or not media.height or media.width <= width:
        return -1, -1
    height = int(round(width * media.height / media.width / 2)) * 2
    return width, max(height, 2)


class _Tracker:
    """Faces on consecutive samples of one shot: a face overlapping one of the previous sample is its track."""

    def __init__(self, model, min_score: float) -> None:
        self.model, self.min_score = model, min_score
        self.faces: list[records.Face] = []
        self.previous: list[tuple[tuple[int, int, int, int], int, tuple[float, ...]]] = []  # box, track, embedding
        self.tracks = 0

    def look(self, frame: np.ndarray, index: int, time: float) -> None:
        fh, fw = frame.shape[:2]
        current = []
        for found in self.model.detect(frame, self.min_score):
            match = max(self.previous, key=lambda p: _iou(p[0], found.box), default=None)
            if match is not None and _iou(match[0], found.box) >= SAME_TRACK_IOU:
                track, embedding = match[1], match[2]
                self.previous.remove(match)
            else:
                self.tracks += 1
                track, embedding = self.tracks, tuple(float(v) for v in self.model.embed(frame, found.box))
            current.append((found.box, track, embedding))
            left, top, w, h = found.box
            box = (max(left, 0) / fw, max(top, 0) / fh, w / fw, h / fh)
            self.faces.append(records.Face(time=time, frame=int(index), box=tuple(round(v, 4) for v in box),
                                           score=round(found.score, 3), embedding=embedding, track=track))
        self.previous = current


def detect_faces(item: StageInput, progress: StageProgress, shot_starts: list[int]) -> records.FaceDetections:
    settings = item.settings.analysis
    model = load_face_model()
    indices = sample_frames(item.frame_times, shot_starts, max(settings.face_interval, 0.1))
    starts = set(shot_starts) | {0}
    width, height = _size(item.media, settings.face_detect_width)
    tracker = _Tracker(model, settings.face_min_score)
    skipped: list[str] = []
    done = 0
    # the stage runs after the shots are known, when their decode has finished: all cores may decode
    for index, frame, reason in iter_frames(item.path, indices, width, height, threads=0):
        done += 1
        progress(done, len(indices))
        if frame is None:
            log.warning("faces: %s: skipped %s", item.path, reason)
            skipped.append(reason)
            tracker.previous = []
            continue
        if index in starts:
            tracker.previous = []  # a new shot: nothing carries over
        tracker.look(frame, index, float(item.frame_times[index]))
    if not indices:
        progress(1, 1)
    times = tuple(float(item.frame_times[i]) for i in indices)
    return records.FaceDetections(model.version, times, tuple(tracker.faces), tuple(skipped))


def stream_spec(media, settings: Settings) -> tuple[float, int, int]:
    """(step, width, height) of the frames the faces stage reads from a decode shared with the shots."""
    width, height = _size(media, settings.analysis.face_detect_width)
    if width < 0:
        width, height = media.width - media.width % 2, media.height - media.height % 2
    return STREAM_STEP, width, height


def detect_faces_streamed(item: StageInput, progress: StageProgress, stream) -> records.FaceDetections:
    """Faces on the frames sampled every ``STREAM_STEP`` s by the decode shared with the shot stage
    (``media/shared_decode.py``), read while the shots are still being found: a frame is looked at on a
    cut (its grey thumbnail differs from the previous sample's by more than the text stage's ``CUT``: ``text.is_cut``),
    and then every ``face_interval`` seconds; tracks end at a cut."""
    from cogvlm_media.analysis.text import is_cut, thumbnail

    settings = item.settings.analysis
    tracker = _Tracker(load_face_model(), settings.face_min_score)
    interval, duration = max(settings.face_interval, 0.1), item.media.duration
    times: list[float] = []
    previous, due = None, 0.0
    for now, frame in stream:
        thumb = thumbnail(frame)
        cut = is_cut(thumb, previous)
        previous = thumb
        progress(min(now, duration), duration)
        if not cut and now < due - 1e-6:
            continue
        if cut:
            tracker.previous = []  # a new shot: nothing carries over
        due = now + interval
        index = min(int(np.searchsorted(item.frame_times, now - 1e-6)), len(item.frame_times) - 1)
        times.append(float(item.frame_times[index]))
        tracker.look(np.ascontiguousarray(frame), index, times[-1])
    progress(duration, duration)
    skipped = tuple(f"decoder: {p}" for p in stream.problems)
    return records.FaceDetections(tracker.model.version, tuple(times), tuple(tracker.faces), skipped)


def faces_stage(item: StageInput, progress: StageProgress) -> records.FaceDetections | None:
    stream = item.shared_decode.stream("faces") if item.shared_decode is not None else None
    try:
        if stream is not None:
            return detect_faces_streamed(item, progress, stream)
        shots = item.shots() if item.shots is not None else []
        return detect_faces(item, progress, [s.start_frame for s in shots])
    except FaceModelMissing as exc:
        if str(exc) not in _warned:  # one line per process, not one per file
            _warned.add(str(exc))
            log.warning("%s; people are not detected", exc)
        progress(1, 1)
        return None
    finally:
        if stream is not None:
            stream.close()  # frames it did not take are dropped, so the shot decode goes on


def faces_enabled(settings: Settings) -> bool:
    return bool(settings.analysis.faces)


@hookimpl
def register_stages() -> list[Stage]:
    return [Stage("faces", faces_stage, enabled=faces_enabled)]

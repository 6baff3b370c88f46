"""Typed results passed between the analysis stages and into the store.

Times are seconds from the file's first frame (the presentation time of frame 0 is 0.0).
Frame numbers index the decoded frames of the file, 0-based.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Shot:
    index: int
    start_frame: int  # first frame of the shot
    end_frame: int  # last frame of the shot, inclusive
    start: float  # seconds of start_frame
    end: float  # seconds just after end_frame (start of the next shot, or the file's end)
    transition: str = "cut"  # how this shot begins: "start" (first shot), "cut" or "dissolve"
    confidence: float = 1.0

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Word:
    text: str
    start: float
    end: float
    probability: float = 1.0


@dataclass(frozen=True)
class SpeechSegment:
    index: int
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    speaker: str | None = None  # "Speaker 2" (or the editor's name for that voice) when diarized


@dataclass(frozen=True)
class Transcript:
    language: str
    segments: tuple[SpeechSegment, ...] = ()

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments).strip()

    def words(self) -> list[Word]:
        return [w for s in self.segments for w in s.words]

    def between(self, start: float, end: float) -> list[SpeechSegment]:
        """Segments whose midpoint lies in [start, end)."""
        return [s for s in self.segments if start <= (s.start + s.end) / 2 < end]


@dataclass(frozen=True)
class SpeakerTurn:
    start: float
    end: float
    speaker: str  # label, "Speaker 1", "Speaker 2", ... in order of first appearance


@dataclass(frozen=True)
class SpeakerVoice:
    """One speaker of one file: the mean (L2-normed) voice embedding over all its speech."""

    label: str
    seconds: float
    embedding: tuple[float, ...]


@dataclass(frozen=True)
class Diarization:
    """Who speaks when in one file (the ``speakers`` stage's result)."""

    model_version: str
    threshold: float  # cosine distance at which two clusters of windows stop merging
    turns: tuple[SpeakerTurn, ...] = ()
    speakers: tuple[SpeakerVoice, ...] = ()

    def speaker_at(self, start: float, end: float) -> str | None:
        """The speaker of the turn overlapping [start, end] most (the nearest turn when none does)."""
        if not self.turns:
            return None
        overlap = [(min(end, t.end) - max(start, t.start), -abs((t.start + t.end) - (start + end)), t.speaker)
                   for t in self.turns]
        return max(overlap)[2]


@dataclass(frozen=True)
class Window:
    """One analysis window: at most 24 s, fed to a video model as if it were its own file.

    ``frame_indices[i]`` is the file frame the CogVLM2-Video 'chat' sampler picks for ordinal ``i``
    (the window's frame whose start time is closest to i seconds after the window's first frame) and
    ``frame_times[i]`` is that frame's absolute time in the file. Ordinal i therefore means
    ``frame_times[i]`` seconds, not ``start + i``, whenever the frame grid does not fall on whole seconds.
    """

    index: int
    start: float  # absolute time of the window's first frame
    end: float  # absolute time just after its last frame
    first_frame: int
    last_frame: int  # inclusive
    frame_indices: tuple[int, ...]
    frame_times: tuple[float, ...]
    shot_indices: tuple[int, ...] = ()

    @property
    def duration(self) -> float:
        return self.end - self.start

    def ordinal_time(self, ordinal: float) -> float:
        """Absolute time for a (possibly fractional) ordinal the model referred to."""
        if not self.frame_times:
            return self.start
        if ordinal <= 0:
            return self.frame_times[0]
        last = len(self.frame_times) - 1
        if ordinal >= last:
            # past the last sampled frame: extrapolate at 1 s per ordinal but stay inside the window
            return min(self.frame_times[last] + (ordinal - last), self.end)
        lo = int(ordinal)
        frac = ordinal - lo
        return self.frame_times[lo] + frac * (self.frame_times[lo + 1] - self.frame_times[lo])


@dataclass(frozen=True)
class WindowCaption:
    window_index: int
    text: str
    source: str


@dataclass(frozen=True)
class Scene:
    index: int
    start: float
    end: float
    title: str
    summary: str
    shot_indices: tuple[int, ...] = ()


@dataclass(frozen=True)
class KeyMoment:
    time: float
    name: str
    note: str = ""
    kind: str = "moment"  # "speech" for sentence starts, "moment" for visual events
    duration: float = 0.0


@dataclass
class Analysis:
    """What an analyser returns for one file."""

    analyser: str
    analyser_version: str
    model_version: str = ""
    captions: list[WindowCaption] = field(default_factory=list)
    scenes: list[Scene] = field(default_factory=list)
    moments: list[KeyMoment] = field(default_factory=list)


@dataclass(frozen=True)
class Face:
    """One face found on one sampled frame. ``box`` is (left, top, width, height) as fractions of the
    frame; ``track`` numbers the faces taken to be one person on consecutive samples of one shot."""

    time: float
    frame: int
    box: tuple[float, float, float, float]
    score: float
    embedding: tuple[float, ...]
    track: int = 0


@dataclass(frozen=True)
class FaceDetections:
    """What the ``faces`` stage returns for one file: the sampled times and the faces found on them."""

    model_version: str
    sample_times: tuple[float, ...] = ()
    faces: tuple[Face, ...] = ()
    skipped: tuple[str, ...] = ()  # one reason per sampled frame that could not be read


# text event categories and how they are named to people
TEXT_LABELS = {"slate": "Slate", "lower_third": "Lower third", "title": "Title card", "text": "On-screen text"}


@dataclass(frozen=True)
class TextEvent:
    """On-screen text seen on consecutive sampled frames (analysis/text.py).

    ``start``: the first sampled frame showing it; ``end``: the first sampled frame after it no longer
    shows it (or the file's end). The box is normalised to the frame (0..1, top-left origin).
    """

    index: int
    start: float
    end: float
    text: str
    category: str  # "slate", "lower_third", "title" or "text"
    box: tuple[float, float, float, float]  # x, y, width, height
    confidence: float
    lines: int = 1


@dataclass(frozen=True)
class TextResult:
    """What the ``text`` stage returns: its events, its model, and its sampling counts."""

    model_version: str
    events: tuple[TextEvent, ...] = ()
    sampled: int = 0  # frames decoded for the stage
    checked: int = 0  # frames that passed the cheap text check and went to detection
    recognised: int = 0  # text boxes recognised
    skipped: str = ""  # why the stage did not run (a missing optional model), or ""
    bad_frames: tuple[str, ...] = ()  # one reason per frame that could not be read

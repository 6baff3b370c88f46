"""The embedded analyser: no vision model, runs anywhere.

Scenes are groups of consecutive shots: a scene closes at a shot boundary once it has lasted at
least ``scene_min_seconds``, unless a spoken segment runs across that boundary or the boundary falls
in a pause shorter than ``SPEECH_PAUSE`` (then it grows until the speaker pauses for longer, up to
``MAX_SCENE_SECONDS``). A group of at least twice the minimum that holds
continuous speech is then split at its topic shifts (``analysis.topics``: MiniLM sentence
embeddings): each boundary goes on a shot cut inside the pause between the two sentences, or in the
middle of that pause when no cut falls there, so a sentence is never cut. Each scene gets a title (its first spoken
sentence, or its shot count; a title card shown in it, else a lower third, wins when the ``text`` stage
found one) and a summary from its transcript, shot facts and on-screen text. Key moments are the
starts of spoken sentences, each named by the sentence, which is also its note.

Names are stored whole: they are shortened only where they are shown (the review page) or where a
format has a limit (see ``cogvlm_media/export/adapters.py``).
"""

from __future__ import annotations

import re

from cogvlm_media.analysis import topics
from cogvlm_media.analysis.analyser import AnalysisInput, Progress
from cogvlm_media.analysis.text_events import titled_scenes
from cogvlm_media.records import Analysis, KeyMoment, Scene, Shot, Transcript, Word
from cogvlm_media.config import Settings

MAX_SCENE_SECONDS = 120.0
SPEECH_PAUSE = 1.0  # a pause between two spoken segments shorter than this keeps the speech continuous
_SENTENCE_END = re.compile(r"[.!?…][\"')\]]*$")


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def _name(text: str) -> str:
    """A marker or scene name: the whole sentence on one line (never cut here)."""
    return " ".join(text.split())


def sentences(transcript: Transcript | None) -> list[tuple[float, float, str]]:
    """(start, end, text) of each spoken sentence, split on sentence-final punctuation using word times."""
    if transcript is None:
        return []
    found: list[tuple[float, float, str]] = []
    for segment in transcript.segments:
        words: list[Word] = list(segment.words)
        if not words:
            if segment.text.strip():
                found.append((segment.start, segment.end, segment.text.strip()))
            continue
        current: list[Word] = []
        for word in words:
            current.append(word)
            if _SENTENCE_END.search(word.text.strip()):
                found.append(_sentence(current))
                current = []
        if current:
            found.append(_sentence(current))
    return [s for s in found if s[2]]


def _sentence(words: list[Word]) -> tuple[float, float, str]:
    # Whisper marks word starts with a leading space; without any, the words are separate tokens
    glue = "" if any(w.text[:1].isspace() for w in words) else " "
    text = glue.join(w.text for w in words).strip()
    return words[0].start, words[-1].end, re.sub(r"\s+", " ", text)


def group_scenes(shots: list[Shot], transcript: Transcript | None, min_seconds: float) -> list[list[Shot]]:
    spoken = [(s.start, s.end) for s in transcript.segments] if transcript else []
    groups: list[list[Shot]] = []
    current: list[Shot] = []
    for shot in shots:
        if current:
            length = current[-1].end - current[0].start
            boundary = shot.start
            inside_speech = any(a < boundary - 0.05 and b > boundary + 0.05 for a, b in spoken) or any(
                b1 <= boundary <= a2 and a2 - b1 < SPEECH_PAUSE for (_a1, b1), (a2, _b2) in zip(spoken, spoken[1:]))
            if length >= min_seconds and (not inside_speech or length >= MAX_SCENE_SECONDS):
                groups.append(current)
                current = []
        current.append(shot)
    if current:
        # a short tail joins the previous scene instead of standing alone
        if groups and current[-1].end - current[0].start < min_seconds / 2:
            groups[-1].extend(current)
        else:
            groups.append(current)
    return groups


def split_topics(shots: list[Shot], spoken: list[tuple[float, float, str]],
                 min_seconds: float) -> list[tuple[float, float, list[Shot]]]:
    """(start, end, shots overlapping it) of the parts of one shot group, split at topic shifts."""
    begin, end = shots[0].start, shots[-1].end
    inside = [s for s in spoken if begin <= s[0] < end]
    if end - begin < 2 * min_seconds or len(inside) < topics.MIN_SENTENCES:
        return [(begin, end, shots)]
    vectors = topics.sentence_vectors([text for _a, _b, text in inside])
    edges = [begin]
    for i in topics.topic_starts([(a, b) for a, b, _t in inside], vectors, begin, end, min_seconds):
        quiet_from, quiet_to = min(inside[i - 1][1], inside[i][0]), inside[i][0]
        cuts = [s.start for s in shots[1:] if quiet_from <= s.start <= quiet_to]
        edges.append(min(cuts, key=lambda t: abs(t - quiet_to)) if cuts else round((quiet_from + quiet_to) / 2, 3))
    edges.append(end)
    return [(a, b, [s for s in shots if s.start < b and s.end > a]) for a, b in zip(edges, edges[1:])]


def describe_scene(index: int, shots: list[Shot], spoken: list[tuple[float, float, str]],
                   start: float | None = None, end: float | None = None) -> Scene:
    """``start``/``end``: the scene's extent when it is not its shots' (a topic split inside a shot)."""
    start = shots[0].start if start is None else start
    end = shots[-1].end if end is None else end
    said = [text for a, _b, text in spoken if start <= a < end]
    inner = [s for s in shots if start < s.start < end]  # the transitions inside the scene
    dissolves = sum(1 for s in inner if s.transition == "dissolve")
    cuts = len(inner) - dissolves
    shot_fact = f"{len(shots)} shot" + ("s" if len(shots) != 1 else "")
    joins = [f"{n} {word}{'s' if n != 1 else ''}" for n, word in ((cuts, "cut"), (dissolves, "dissolve")) if n]
    if joins:
        shot_fact += f" ({', '.join(joins)})"
    facts = f"{_clock(start)}–{_clock(end)}, {end - start:.1f} s, {shot_fact}."
    if said:
        title = _name(said[0])
        summary = f"{facts} Speech: {' '.join(said)}"
    else:
        title = f"Scene {index + 1}: {shot_fact}, no speech"
        summary = f"{facts} No speech."
    return Scene(index=index, start=start, end=end, title=title, summary=summary,
                 shot_indices=tuple(s.index for s in shots))


class EmbeddedAnalyser:
    name = "embedded"
    version = "1"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def analyse(self, item: AnalysisInput, progress: Progress | None = None) -> Analysis:
        spoken = sentences(item.transcript)
        minimum = self.settings.analysis.scene_min_seconds
        groups = group_scenes(item.shots, item.transcript, minimum)
        parts = [part for g in groups for part in split_topics(g, spoken, minimum)]
        scenes = [describe_scene(i, g, spoken, a, b) for i, (a, b, g) in enumerate(parts)]
        scenes = titled_scenes(scenes, item.stage_results.get("text"))  # a title card or lower third names it
        moments = [KeyMoment(time=a, name=_name(text), note=text, kind="speech", duration=0.0)
                   for a, _b, text in spoken]
        if progress:
            progress(1, 1)
        return Analysis(analyser=self.name, analyser_version=self.version, scenes=scenes, moments=moments)

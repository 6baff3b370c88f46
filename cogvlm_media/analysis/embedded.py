"""The embedded analyser: no vision model, runs anywhere.

Scenes are groups of consecutive shots: a scene closes at a shot boundary once it has lasted at
least ``scene_min_seconds``, unless a spoken segment runs across that boundary (then it grows until
the speaker pauses, up to ``MAX_SCENE_SECONDS``). Each scene gets a short title (its first spoken
words, or its shot count) and a summary from its transcript and shot facts. Key moments are the
starts of spoken sentences, each named by its first words with the sentence as its note.
"""

from __future__ import annotations

import re

from cogvlm_media.analysis.analyser import AnalysisInput, Progress
from cogvlm_media.records import Analysis, KeyMoment, Scene, Shot, Transcript, Word
from cogvlm_media.config import Settings

MAX_SCENE_SECONDS = 120.0
TITLE_WORDS = 6
_SENTENCE_END = re.compile(r"[.!?…][\"')\]]*$")


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def _first_words(text: str, count: int = TITLE_WORDS) -> str:
    words = text.strip().split()
    title = " ".join(words[:count]).rstrip(",;:")
    return title + ("…" if len(words) > count else "")


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
            inside_speech = any(a < boundary - 0.05 and b > boundary + 0.05 for a, b in spoken)
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


def describe_scene(index: int, shots: list[Shot], spoken: list[tuple[float, float, str]]) -> Scene:
    start, end = shots[0].start, shots[-1].end
    said = [text for a, _b, text in spoken if start <= a < end]
    dissolves = sum(1 for s in shots[1:] if s.transition == "dissolve")
    cuts = len(shots) - 1 - dissolves
    shot_fact = f"{len(shots)} shot" + ("s" if len(shots) != 1 else "")
    joins = [f"{n} {word}{'s' if n != 1 else ''}" for n, word in ((cuts, "cut"), (dissolves, "dissolve")) if n]
    if joins:
        shot_fact += f" ({', '.join(joins)})"
    facts = f"{_clock(start)}–{_clock(end)}, {end - start:.1f} s, {shot_fact}."
    if said:
        title = _first_words(said[0])
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
        groups = group_scenes(item.shots, item.transcript, self.settings.analysis.scene_min_seconds)
        scenes = [describe_scene(i, g, spoken) for i, g in enumerate(groups)]
        moments = [KeyMoment(time=a, name=_first_words(text), note=text, kind="speech", duration=0.0)
                   for a, _b, text in spoken]
        if progress:
            progress(1, 1)
        return Analysis(analyser=self.name, analyser_version=self.version, scenes=scenes, moments=moments)

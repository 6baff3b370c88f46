"""The ``speakers`` stage: who speaks when (diarization), and speaker labels on the transcript.

1. Voiced stretches from the audio level (10 ms frames louder than ``LOUD_DB`` below the file's
   loud level and 10 dB over its floor); gaps shorter than ``BRIDGE`` are bridged, so a stretch ends
   at a pause of at least that length. A turn can only change inside a stretch at a window edge, and
   between stretches at the pause itself, so turn boundaries fall on voice onsets.
2. Each stretch is cut into windows of ``WINDOW`` seconds (the encoder's 1.6 s training length; a
   stretch up to 2 s is one window, shorter than ``MIN_WINDOW`` none) and every window is embedded
   with the voice encoder (cogvlm_media.analysis.voice_encoder).
3. Average-linkage clustering of the windows on cosine distance, cut at ``settings.analysis
   .speaker_threshold`` (0.27 by default: same-voice 1.6 s windows of two espeak-ng voices measured
   0.17 apart on average, 0.25 at most; the two voices 0.37 apart on average). Labels are "Speaker 1",
   "Speaker 2", ... in order of first speech. Stretches too short to embed take their neighbour's.
4. Consecutive windows of one speaker form a turn; each speaker's voice is the mean of its windows.

:func:`keep_spoken` keeps the turns that overlap the transcript's speech (voiced sound that says
nothing, a tone, is no speaker), and :func:`label_transcript` gives every transcript segment its
speaker, splitting a segment between words where the turn changes.
"""

from __future__ import annotations

import logging

import numpy as np

from cogvlm_media import records
from cogvlm_media.media.decode import AUDIO_RATE, decode_audio
from cogvlm_media.media.probe import MediaInfo

log = logging.getLogger(__name__)

FRAME = 0.01  # seconds per level frame
LOUD_DB = 35.0  # voiced: within this many dB of the loud level (99th percentile) ...
FLOOR_DB = 10.0  # ... and this far over the floor (10th percentile)
BRIDGE = 0.25  # pauses shorter than this stay inside one voiced stretch
WINDOW, MAX_ONE, MIN_WINDOW = 1.6, 2.0, 0.4


def voiced_stretches(audio: np.ndarray) -> list[tuple[float, float]]:
    """(start, end) seconds of the audio's voiced stretches, split at pauses of ``BRIDGE`` or more."""
    hop = int(AUDIO_RATE * FRAME)
    n = len(audio) // hop
    if n == 0:
        return []
    blocks = audio[:n * hop].reshape(n, hop).astype(np.float64)
    level = 10 * np.log10(np.einsum("ij,ij->i", blocks, blocks) / hop + 1e-12)
    floor, loud = np.percentile(level, 10), np.percentile(level, 99)
    voiced = level > max(floor + FLOOR_DB, loud - LOUD_DB, -70.0)
    runs: list[list[int]] = []
    for i in np.flatnonzero(voiced):
        if runs and i - runs[-1][1] <= int(BRIDGE / FRAME):
            runs[-1][1] = i + 1
        else:
            runs.append([int(i), int(i) + 1])
    return [(a * FRAME, b * FRAME) for a, b in runs if (b - a) * FRAME >= 0.1]


def windows_of(stretch: tuple[float, float]) -> list[tuple[float, float]]:
    start, end = stretch
    length = end - start
    if length < MIN_WINDOW:
        return []
    if length <= MAX_ONE:
        return [(start, end)]
    count = int(np.ceil(length / WINDOW))
    step = (length - WINDOW) / (count - 1)
    return [(start + i * step, start + i * step + WINDOW) for i in range(count)]


def cluster(embeddings: np.ndarray, threshold: float) -> np.ndarray:
    """Cluster ids (0, 1, ... in order of first appearance) from average linkage on cosine distance."""
    if len(embeddings) == 0:
        return np.zeros(0, dtype=int)
    if len(embeddings) == 1:
        return np.zeros(1, dtype=int)
    from scipy.cluster.hierarchy import fcluster, linkage

    tree = linkage(embeddings.astype(np.float64), method="average", metric="cosine")
    raw = fcluster(tree, t=threshold, criterion="distance")
    order: dict[int, int] = {}
    return np.array([order.setdefault(int(c), len(order)) for c in raw], dtype=int)


def diarize(audio: np.ndarray, encoder, threshold: float, offset: float = 0.0,
            duration: float | None = None, model_version: str = "") -> records.Diarization:
    """Speaker turns of 16 kHz mono ``audio``; times shifted by ``offset`` and clamped to ``duration``."""
    stretches = voiced_stretches(audio)
    spans = [(i, w) for i, s in enumerate(stretches) for w in windows_of(s)]
    clips = [audio[int(a * AUDIO_RATE):int(b * AUDIO_RATE)] for _, (a, b) in spans]
    embeddings = encoder.embed(clips)
    ids = cluster(embeddings, threshold)
    if not len(ids):
        return records.Diarization(model_version=model_version, threshold=threshold)

    def at(t: float) -> float:
        t = max(0.0, float(t) + offset)
        return round(min(t, duration) if duration is not None else t, 3)

    # pieces: (start, end, cluster) in time order; a stretch whose windows disagree is split halfway
    # through the overlap (or gap) of the two windows where the speaker changes
    pieces: list[list] = []
    by_stretch: dict[int, list[tuple[tuple[float, float], int]]] = {}
    for (i, span), cid in zip(spans, ids):
        by_stretch.setdefault(i, []).append((span, int(cid)))
    centres = np.array([(a + b) / 2 for _, (a, b) in spans])
    for i, (start, end) in enumerate(stretches):
        own = by_stretch.get(i)
        if not own:  # too short to embed: the speaker of the nearest window
            nearest = int(np.argmin(np.abs(centres - (start + end) / 2)))
            own = [((start, end), int(ids[nearest]))]
        cursor = start
        for k, (span, cid) in enumerate(own):
            stop = end if k == len(own) - 1 else (span[1] + own[k + 1][0][0]) / 2
            if pieces and pieces[-1][2] == cid:
                pieces[-1][1] = stop
            else:
                pieces.append([cursor, stop, cid])
            cursor = stop
    label = {cid: f"Speaker {cid + 1}" for cid in range(int(ids.max()) + 1)}
    turns = tuple(records.SpeakerTurn(at(a), at(b), label[c]) for a, b, c in pieces if at(b) > at(a))
    voices = []
    for cid in range(int(ids.max()) + 1):
        mean = embeddings[ids == cid].mean(axis=0)
        seconds = sum(t.end - t.start for t in turns if t.speaker == label[cid])
        voices.append(records.SpeakerVoice(label[cid], round(seconds, 3),
                                           tuple(round(float(v), 6) for v in mean / np.linalg.norm(mean))))
    return records.Diarization(model_version=model_version, threshold=threshold, turns=turns, speakers=tuple(voices))


def keep_spoken(diarization: records.Diarization, transcript: records.Transcript) -> records.Diarization:
    """Only the turns where the transcript has speech (a tone or noise is voiced, but says nothing);
    speakers left without a turn are dropped."""
    spans = [(s.start, s.end) for s in transcript.segments]
    turns = tuple(t for t in diarization.turns if any(min(t.end, b) > max(t.start, a) for a, b in spans))
    kept = {t.speaker for t in turns}
    return records.Diarization(diarization.model_version, diarization.threshold, turns,
                               tuple(v for v in diarization.speakers if v.label in kept))


def label_transcript(transcript: records.Transcript, diarization: records.Diarization | None) -> records.Transcript:
    """The transcript with a speaker on every segment; a segment spoken by two is split between words."""
    if diarization is None or not diarization.turns:
        return transcript
    out: list[records.SpeechSegment] = []
    for seg in transcript.segments:
        if not seg.words:
            out.append(records.SpeechSegment(len(out), seg.start, seg.end, seg.text, (),
                                             diarization.speaker_at(seg.start, seg.end)))
            continue
        groups: list[tuple[str | None, list[records.Word]]] = []
        for word in seg.words:
            who = diarization.speaker_at(word.start, word.end)
            if groups and groups[-1][0] == who:
                groups[-1][1].append(word)
            else:
                groups.append((who, [word]))
        if len(groups) == 1:
            out.append(records.SpeechSegment(len(out), seg.start, seg.end, seg.text, seg.words, groups[0][0]))
            continue
        for k, (who, words) in enumerate(groups):
            start = seg.start if k == 0 else words[0].start
            end = seg.end if k == len(groups) - 1 else words[-1].end
            out.append(records.SpeechSegment(len(out), start, max(end, start), " ".join(w.text for w in words),
                                             tuple(words), who))
    return records.Transcript(language=transcript.language, segments=tuple(out))


_warned: set[str] = set()


def speakers_stage(item, progress) -> records.Diarization | None:
    """The stage: None without audio, or (with one logged line) when the voice encoder is missing."""
    from cogvlm_media.analysis.voice_encoder import SpeakerModelMissing, get_encoder, model_version

    media: MediaInfo = item.media
    progress(0, 1)
    if not media.has_audio:
        progress(1, 1)
        return None
    try:
        encoder = get_encoder()
    except SpeakerModelMissing as exc:
        if str(exc) not in _warned:
            _warned.add(str(exc))
            log.warning("%s", exc)
        progress(1, 1)
        return None
    audio = decode_audio(item.path)
    if audio is None:
        progress(1, 1)
        return None
    result = diarize(np.ascontiguousarray(audio, dtype=np.float32), encoder, item.settings.analysis.speaker_threshold,
                     offset=media.audio_offset, duration=media.duration, model_version=model_version())
    progress(1, 1)
    return result

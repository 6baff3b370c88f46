"""Building search test archives.

The shared archive (conftest.py) comes through the public paths only: clips rendered with mediagen and
ingested with ``ingest_paths``, and the captions a vision model would write carried in marker lists
(the JSON the exporter writes) brought in with ``cogvlm-media import-markers``. ``add_asset`` writes
rows straight through the store's one-transaction writer (the path ingest uses) for the tests that need
direct control of the database (test_sync.py says why).
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

from typer.testing import CliRunner

from cogvlm_media import hooks
from cogvlm_media import records
from cogvlm_media.cli.app import app
from cogvlm_media.media.probe import MediaInfo
from cogvlm_media.store.engine import write_session
from cogvlm_media.store.writer import FileState, record_analysis

import mediagen

WINDOW = 24.0


# --- the public paths -----------------------------------------------------------------------------

def cli(settings, *args):
    """Run the real command line against ``settings``' home and database."""
    env = {"COGVLM_MEDIA_HOME": str(settings.home), "COGVLM_MEDIA_DB": settings.db_url, "COGVLM_MEDIA_CONFIG": ""}
    return CliRunner().invoke(app, [str(a) for a in args], env=env, catch_exceptions=False)


def ingest(settings, engine, *paths) -> list[int]:
    """``ingest_paths``, the public ingest path (shots, speech, the embedded analyser, asset_changed)."""
    from cogvlm_media.ingest import ingest_paths

    outcomes = ingest_paths(engine, settings, [str(p) for p in paths])
    for o in outcomes:
        assert o.status == "done", (o.path, o.status, o.error)
    return [o.asset_id for o in outcomes]


# Still sources only (the shot detector's candidate pass then skips almost every window), two shots a clip;
# colours sit in the middle of the detector's histogram bins so their light noise flips no bin.
REEL_SOURCES = [("smptebars", "colour:0x3050b0"), ("smptehdbars", "colour:0xb05030"),
                ("rgbtestsrc", "colour:0x50b030"), ("colour:0x909090", "smptebars"),
                ("colour:0xb0b050", "rgbtestsrc"), ("smptehdbars", "colour:0x305050")]


# An editor's verified marker that competes with the speech clip's own model output: its transcript and
# speech marker hold "... sitting on the kitchen table." (mediagen.SPEECH; the recogniser may mishear
# the first words, "kitchen table" it gets right, as test_archive relies on).
VERIFIED_QUERY = "sitting on the kitchen table"
VERIFIED_MARKER = ("A fruit bowl on the kitchen counter", "checked by the editor")


def render_reel(path: Path, index: int, seconds: float, fps: int = 2) -> Path:
    """A silent 64x48 clip of two still shots, distinct per ``index`` (so its fingerprint differs)."""
    first, second = REEL_SOURCES[index % len(REEL_SOURCES)]
    half = int(seconds * fps) // 2
    return mediagen.render(path, [mediagen.Segment(first, half), mediagen.Segment(second, half + index)],
                           fps=str(fps), size="64x48").path


def marker_list(asset_id: int, fps: int, markers: list[dict]) -> dict:
    """A marker list in the exporter's JSON format (cogvlm_media/export/lists.py). Markers without ids
    are new to the archive: import stores them as editor-verified."""
    return {"format": "cogvlm-media-markers", "schema_version": 1,
            "assets": [{"id": asset_id, "fps": {"num": fps, "den": 1}, "markers": markers}]}


def caption_marker(seconds: float, caption: str, note: str = "", kind: str = "moment") -> dict:
    """A moment as a vision model would describe it: the caption is the marker's name."""
    return {"seconds": seconds, "name": caption, "note": note, "kind": kind, "duration_frames": 0}


def import_markers(settings, folder: Path, asset_id: int, doc: dict, *options) -> str:
    """``cogvlm-media import-markers FILE --asset ID``; returns its summary line."""
    path = Path(folder) / f"markers-{asset_id}-{random.getrandbits(32):08x}.json"
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    out = cli(settings, "import-markers", path, "--asset", asset_id, *options)
    assert out.exit_code == 0, out.output
    return out.stdout


# --- direct database control ------------------------------------------------------------------------


def media(name: str, duration: float) -> MediaInfo:
    return MediaInfo(path=name, size=1000, duration=duration, fps_num=25, fps_den=1,
                     frame_count=int(duration * 25), width=320, height=240, rotation=0, start_timecode=None,
                     has_audio=True, variable_frame_rate=False, video_codec="h264", container="mov", start_time=0.0)


def add_asset(engine, settings, name: str, captions: list[str] = (), moments: list[tuple[float, str]] = (),
              speech: list[tuple[float, str]] = (), emit: bool = True) -> int:
    """One asset: a window every 24 s per caption, key moments, and transcript segments whose words
    are spaced 0.4 s apart. Re-adding the same name re-analyses (replaces) that asset."""
    duration = max(WINDOW * max(len(captions), 1), max([t for t, _ in [*moments, *speech]] or [0]) + 10)
    windows = [records.Window(index=i, start=i * WINDOW, end=(i + 1) * WINDOW, first_frame=int(i * WINDOW * 25),
                              last_frame=int((i + 1) * WINDOW * 25) - 1, frame_indices=(int(i * WINDOW * 25),),
                              frame_times=(i * WINDOW,)) for i in range(len(captions))]
    segments = []
    for i, (t, text) in enumerate(speech):
        words = tuple(records.Word(w, t + 0.4 * j, t + 0.4 * j + 0.35, 0.9) for j, w in enumerate(text.split()))
        segments.append(records.SpeechSegment(i, t, words[-1].end, text, words))
    analysis = records.Analysis("test-vision", "1", "test-model",
                                captions=[records.WindowCaption(i, c, "test-vision") for i, c in enumerate(captions)],
                                moments=[records.KeyMoment(t, n, "", "moment") for t, n in moments])
    with write_session(engine) as session:
        asset = record_analysis(session, state=FileState(f"/archive/{name}", 1000, 0, 0),
                                fingerprint=hashlib.sha256(name.encode()).hexdigest(), media=media(name, duration),
                                shots=[], transcript=records.Transcript("en", tuple(segments)) if speech else None,
                                windows=windows, analysis=analysis)
        asset_id = asset.id
    if emit:
        hooks.emit("asset_changed", engine, settings, asset_id=asset_id)
    return asset_id


# Captions a vision model might write for unrelated footage.
SUBJECTS = ["A man", "A woman", "An old man", "A teenager", "A mechanic", "A nurse", "A teacher", "Two workers",
            "A farmer", "A tourist", "A cashier", "A postman", "A gardener", "A librarian", "A painter",
            "A security guard", "A waiter", "A student", "A carpenter", "A receptionist"]
ACTIONS = ["paints a fence", "waters potted plants", "repairs a bicycle", "folds laundry", "sweeps the floor",
           "writes on a whiteboard", "sorts letters", "washes a van", "carries cardboard boxes", "studies a map",
           "ties a shoelace", "adjusts a tripod", "opens a window", "locks a door", "hangs a picture frame",
           "feeds pigeons", "waits at a bus stop", "scrolls on a phone", "arranges tulips", "measures a plank",
           "stacks plates", "irons a shirt", "counts coins", "polishes shoes", "checks a clipboard",
           "replaces a light bulb", "wraps a parcel", "unloads a delivery truck", "stamps documents",
           "trims a hedge"]
PLACES = ["in a garage", "on a balcony", "in an office", "at a warehouse", "in a classroom", "on a quiet street",
          "in a hallway", "at an indoor market", "in a workshop", "in a library", "in a laundromat",
          "beside a parking lot", "in a storeroom", "at a reception desk", "in a corridor"]
EXTRAS = ["under fluorescent light.", "in the afternoon.", "while a radio plays.", "as the camera holds still.",
          "with a slow pan to the left.", "in a wide shot.", "in a close-up.", "with muted colours."]


def distractor_captions(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < count:
        text = f"{rng.choice(SUBJECTS)} {rng.choice(ACTIONS)} {rng.choice(PLACES)} {rng.choice(EXTRAS)}"
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


# (query an editor types, the caption a vision model wrote for that moment)
PARAPHRASES = [
    ("someone gets up from a chair", "A man rises from his seat at the dining table."),
    ("a vehicle crashes", "Two cars collide at an intersection, glass scattering across the road."),
    ("people laughing together", "A group of friends bursts into giggles around a campfire."),
    ("a kid crying", "A small child sobs while holding a broken toy."),
    ("dog playing fetch", "A puppy chases a thrown ball across the lawn and brings it back."),
    ("sunset over the ocean", "The sun sinks below the sea horizon, painting the sky orange."),
    ("someone playing guitar", "A musician strums an acoustic six-string on a porch."),
    ("airplane taking off", "A jet lifts off the runway and climbs into the clouds."),
    ("cooking food in a pan", "A chef fries vegetables in a skillet over a high flame."),
    ("two people hugging", "A couple embraces warmly on the train platform."),
    ("heavy rain storm", "A downpour drenches the avenue as thunder rolls overhead."),
    ("a baby sleeping", "An infant naps peacefully in a crib."),
    ("someone falls over", "A skateboarder loses balance and tumbles onto the pavement."),
    ("a building on fire", "Flames engulf a wooden barn, thick smoke billowing."),
    ("shaking hands after a deal", "Two businessmen clasp palms to seal the agreement."),
    ("reading a book", "An elderly woman turns the pages of a novel by the window."),
    ("snow falling on a city", "Flakes drift down over downtown, covering parked cars in white."),
    ("a crowd cheering", "Spectators in the stadium roar and applaud as the goal is scored."),
    ("someone typing on a computer", "A programmer taps at a laptop keyboard late at night."),
    ("drinking coffee", "A man sips espresso from a small cup at a café."),
    ("running on a beach", "A jogger sprints along the shoreline at dawn."),
    ("horse galloping", "A stallion races across the open meadow."),
    ("person swimming", "A woman does laps in an outdoor pool."),
    ("when does the speaker stand up", "The presenter rises from behind the lectern and addresses the audience."),
]

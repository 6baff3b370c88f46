"""Shared by the plugin tests and by ``fixture_server.py`` (which the Node suite launches when it is run
on its own): a small archive at 23.976, 25 (10:00:00:00 tag), 29.97 drop-frame (00:59:59;28 tag) and
59.94 with known markers, recorded through the store's writer, and the review server as a subprocess."""

from __future__ import annotations

import json
import shutil
import sys
from fractions import Fraction
from pathlib import Path


TESTS = Path(__file__).resolve().parents[1]
ROOT_DIR = TESTS.parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

import mediagen  # noqa: E402
from serveproc import ServerProcess  # noqa: E402

SECONDS = 20
RATES = {  # key: (rate, timecode tag)
    "23.976": ("24000/1001", None),
    "25": ("25", "10:00:00:00"),
    "29.97df": ("30000/1001", "00:59:59;28"),
    "59.94": ("60000/1001", None),
}
SPECIAL_NAME = 'Café "Ünïcode" & <b>'
SCENES = [(0.0, 8.0, "Opening", "A test pattern fills the frame."),
          (8.0, float(SECONDS), SPECIAL_NAME, "first line; a=b\nsecond line — ✓")]
MOMENTS = [  # (time, name, note, kind, duration)
    (2.0, "Flash", "a bright flash", "moment", 0.0),
    (8.0, "Door opens", "same frame as a scene start", "moment", 0.0),
    (12.5, "Speaker: hello", "Hello there.", "speech", 1.5),
    (17.0, "Logo", "", "moment", 0.0),
]


def build_archive(home: Path, media_cache: Path | None = None) -> dict:
    """Render the clips (cached in ``media_cache``), record them, and return
    ``{"home", "assets": {key: {"id", "path", "fps_num", "fps_den", "frame_count"}}, "moved": path}`` where
    ``moved`` is a renamed copy of the 25 fps file that was never ingested (matched by content)."""
    from cogvlm_media import records
    from cogvlm_media.media.fingerprint import fingerprint
    from cogvlm_media.media.probe import probe
    from cogvlm_media.store.engine import get_engine, write_session
    from cogvlm_media.store.writer import FileState, record_analysis

    home = Path(home)
    media = home / "media"
    media.mkdir(parents=True, exist_ok=True)
    cache = Path(media_cache or (home / "render"))
    cache.mkdir(parents=True, exist_ok=True)
    engine = get_engine(f"sqlite:///{home / 'cogvlm-media.db'}")
    out = {"home": str(home), "assets": {}}
    for key, (fps, tc) in RATES.items():
        rendered = cache / f"plugin_{key}.mp4"
        if not rendered.exists():
            frames = int(round(Fraction(fps) * SECONDS))
            mediagen.silent_clip(rendered, fps=fps, frames=frames, size="64x48",
                                 extra_args=("-timecode", tc) if tc else ())
        path = media / f"clip {key}.mp4"
        shutil.copy(rendered, path)
        info = probe(str(path))
        analysis = records.Analysis(analyser="embedded", analyser_version="test", captions=[],
                                    scenes=[records.Scene(i, s, e, t, summ) for i, (s, e, t, summ) in enumerate(SCENES)],
                                    moments=[records.KeyMoment(t, n, note, kind, d) for t, n, note, kind, d in MOMENTS])
        with write_session(engine) as session:
            asset = record_analysis(session, state=FileState.of(str(path)), fingerprint=fingerprint(path),
                                    media=info, shots=[], transcript=None, windows=[], analysis=analysis)
            out["assets"][key] = {"id": asset.id, "path": str(path), "fps_num": asset.fps_num,
                                  "fps_den": asset.fps_den, "frame_count": asset.frame_count}
    moved = home / "elsewhere" / "renamed copy.mp4"
    moved.parent.mkdir(exist_ok=True)
    shutil.copy(media / "clip 25.mp4", moved)
    out["moved"] = str(moved)
    engine.dispose()
    return out


def server_env(home: str) -> dict[str, str]:
    return {"COGVLM_MEDIA_HOME": str(home), "COGVLM_MEDIA_DB": "", "COGVLM_MEDIA_CONFIG": "",
            "XDG_CONFIG_HOME": str(Path(home) / "xdg")}


class Server(ServerProcess):
    """``cogvlm-media serve`` on 127.0.0.1 over the plugin archive's home."""

    def __init__(self, home: str, log_path: Path) -> None:
        super().__init__(server_env(home), log_path)


def describe(archive: dict, url: str) -> str:
    """One JSON line for the Node tests (env COGVLM_MEDIA_TEST_ARCHIVE)."""
    return json.dumps({"url": url, **archive})

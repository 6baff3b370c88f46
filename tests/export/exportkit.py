"""Shared helpers for the export tests: short rendered clips at 23.976, 25 (10:00:00:00 tag), 29.97 drop-frame
(00:59:59;28 tag) and 59.94, recorded through the store's one-transaction writer with scenes, key
moments and speech markers whose names and notes carry unicode, quotes, ampersands, pipes and newlines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from typer.testing import CliRunner

from cogvlm_media import records
from cogvlm_media.media.fingerprint import fingerprint
from cogvlm_media.media.probe import probe
from cogvlm_media.store.engine import read_session, write_session
from cogvlm_media.store.writer import FileState, record_analysis

SECONDS = 36
RATES = {  # id: (rate, timecode tag)
    "23.976": ("24000/1001", None),
    "25": ("25", "10:00:00:00"),
    "29.97df": ("30000/1001", "00:59:59;28"),
    "59.94": ("60000/1001", None),
}
SPECIAL_NAME = 'Café "Ünïcode" & <b>|pipe'
SPECIAL_NOTE = 'first line; a=b #hash \\ back & "q" <tag>\nsecond line — ✓'
SCENES = [  # (start, end, title, summary)
    (0.0, 12.0, "Opening", "A test pattern fills the frame."),
    (12.0, 24.5, SPECIAL_NAME, SPECIAL_NOTE),
    (24.5, float(SECONDS), "Finale", "Bars and tone."),
]
MOMENTS = [  # (time, name, note, kind, duration)
    (3.2, "Flash", "a bright flash", "moment", 0.0),
    (12.0, "Door opens", "same frame as a scene start", "moment", 0.0),
    (20.5, "Speaker: hello", "Hello there, general.", "speech", 2.0),
    (30.0, "Logo", "", "moment", 0.0),
]


@dataclass
class Env:
    home: Path
    runner: CliRunner
    engine: object
    env: dict
    events: list = field(default_factory=list)

    def cli(self, *args: str, ok: bool = True):
        from cogvlm_media.cli.app import app

        result = self.runner.invoke(app, list(args), env=self.env, catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, (args, result.output)
        return result


def record(engine, path: Path, scenes=SCENES, moments=MOMENTS, transcript=None, speakers=None) -> int:
    media = probe(str(path))
    windows = []
    step = 12.0
    for i in range(int(media.duration // step)):
        start, end = i * step, min((i + 1) * step, media.duration)
        first = int(round(start * media.fps))
        last = int(round(end * media.fps)) - 1
        times = tuple(float(Fraction(f) / media.fps) for f in range(first, last + 1, int(round(media.fps))))
        windows.append(records.Window(index=i, start=start, end=end, first_frame=first, last_frame=last,
                                      frame_indices=tuple(int(round(t * media.fps)) for t in times), frame_times=times))
    analysis = records.Analysis(
        analyser="embedded", analyser_version="test",
        captions=[records.WindowCaption(w.index, f"caption {w.index}", "embedded") for w in windows],
        scenes=[records.Scene(i, s, e, t, summ) for i, (s, e, t, summ) in enumerate(scenes)],
        moments=[records.KeyMoment(t, n, note, kind, d) for t, n, note, kind, d in moments])
    with write_session(engine) as session:
        asset = record_analysis(session, state=FileState.of(str(path)), fingerprint=fingerprint(path), media=media,
                                shots=[], transcript=transcript, windows=windows, analysis=analysis,
                                speakers=speakers)
        return asset.id


def stored(env, asset_id: int):
    from cogvlm_media.store.queries import asset_document, find_asset

    with read_session(env.engine) as session:
        return asset_document(find_asset(session, asset_id))

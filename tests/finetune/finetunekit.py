"""Helpers for the fine-tuning tests: an archive of short rendered clips whose windows carry editor-verified markers, and a tiny base model.

Every clip teaches the same thing — a verified "door opens" moment at 3 s — so a LoRA adapter can learn
it on some assets and show it on the held-out ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from typer.testing import CliRunner


from cogvlm_media.media.fingerprint import fingerprint
from cogvlm_media.media.probe import probe
from cogvlm_media.records import Analysis, KeyMoment, Scene, Window
from cogvlm_media.store import models as store_models
from cogvlm_media.store.engine import get_engine, write_session
from cogvlm_media.store.writer import FileState, record_analysis

SOURCES = ["testsrc2", "smptebars", "rgbtestsrc", "mandelbrot", "colour:0xc03020", "colour:0x30a050"]
MOMENT = (3.0, "door opens")
SCENE_TEXT = "a person walks"
SECONDS = 6


def windows_of(media) -> list[Window]:
    """One window over the clip, one frame at each whole second (the reference sampler's choice)."""
    times = tuple(float(Fraction(round(t * media.fps)) / media.fps) for t in range(int(media.duration)))
    indices = tuple(int(round(t * media.fps)) for t in times)
    return [Window(0, 0.0, media.duration, 0, media.frame_count - 1, indices, times)]


def record(engine, path: Path, verified: bool = True) -> int:
    media = probe(str(path))
    analysis = Analysis(analyser="embedded", analyser_version="test",
                        scenes=[Scene(0, 0.0, media.duration, "Opening", SCENE_TEXT)],
                        moments=[KeyMoment(MOMENT[0], MOMENT[1], "", "moment")])
    with write_session(engine) as session:
        asset = record_analysis(session, state=FileState.of(str(path)), fingerprint=fingerprint(path), media=media,
                                shots=[], transcript=None, windows=windows_of(media), analysis=analysis)
        if verified:
            for marker in asset.markers:
                marker.verified, marker.source = True, "editor"
        return asset.id


@dataclass
class Env:
    home: Path
    env: dict
    engine: object
    checkpoint: Path
    config: Path
    runner: CliRunner

    def cli(self, *args: str, ok: bool = True):
        from cogvlm_media.cli.app import app

        result = self.runner.invoke(app, ["--config", str(self.config), *args], env=self.env, catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, (args, result.output)
        return result

    def configure(self, **model) -> None:
        lines = ["[model]", f'path = "{self.checkpoint}"', 'device = "cpu"', 'dtype = "fp32"', "fused = false",
                 "batch_size = 4", "max_new_tokens = 8"]
        lines += [f"{k} = {v!r}".replace("'", '"') if isinstance(v, str) else f"{k} = {str(v).lower()}"
                  for k, v in model.items()]
        self.config.write_text("\n".join(lines) + "\n", encoding="utf-8")




def verified_count(engine) -> int:
    from sqlalchemy import func, select

    from cogvlm_media.store.engine import read_session

    with read_session(engine) as session:
        return session.scalar(select(func.count()).select_from(store_models.Marker)
                              .where(store_models.Marker.verified.is_(True)))

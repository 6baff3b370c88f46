"""The batched ingest path end to end (real ffmpeg, TransNetV2, SQLite, the tiny random model on the CPU):
three files' windows share batches and every stored caption is the answer to its own window's frames."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

import mediagen
from cogvlm_media.config import AnalysisSettings, ModelSettings, Settings
from cogvlm_media.ingest import batched
from cogvlm_media.ingest.batched import BatchedPipeline, batched_enabled, pipeline_for
from cogvlm_media.media.frame_source import DecordSource
from cogvlm_media.media.frames import FrameReadError, read_frames
from cogvlm_media.model.engine import Questions, VideoChat
from cogvlm_media.model.prompts import CAPTION_PROMPT, MOMENT_PROMPT
from cogvlm_media.store import models
from cogvlm_media.store.engine import get_engine, read_session

SOURCES = (("testsrc2", "smptebars"), ("mandelbrot", "colour:0xc03020"), ("rgbtestsrc", "cellauto"))


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("batched")
    out = []
    for k, (a, b) in enumerate(SOURCES):
        path = folder / f"clip{k}.mp4"
        mediagen.render(path, [mediagen.Segment(a, 75), mediagen.Segment(b, 50 + 25 * k)], fps="25",
                        size="160x120", keyint=25)
        out.append(path)
    return out


def settings_for(home: Path, checkpoint: Path, **model) -> Settings:
    values = dict(path=str(checkpoint), batched="on", batch_size=64, max_new_tokens=5, files_in_flight=3,
                  linger_seconds=60.0)
    values.update(model)
    return Settings(home=home, model=ModelSettings(**values), analysis=AnalysisSettings(window_seconds=3.0))


def stored(engine) -> dict[str, list[tuple[tuple[int, ...], str | None]]]:
    with read_session(engine) as s:
        rows = s.execute(select(models.AssetPath.path, models.Window.frame_indices, models.Window.caption)
                         .join(models.Window, models.Window.asset_id == models.AssetPath.asset_id)
                         .order_by(models.AssetPath.path, models.Window.index)).all()
    out: dict[str, list] = {}
    for path, indices, caption in rows:
        out.setdefault(Path(path).name, []).append((tuple(indices), caption))
    return out


def alone(chat: VideoChat, path: Path, indices) -> str:
    """The caption of one window asked on its own (no batching with anything else)."""
    frames = read_frames(path, list(indices))
    return chat.answer_groups([Questions((CAPTION_PROMPT, MOMENT_PROMPT), frames)])[0][0]


@pytest.fixture(scope="module")
def chat(checkpoint):
    return VideoChat.from_pretrained(str(checkpoint), device="cpu", batch_size=64, max_new_tokens=5)


def test_three_files_share_batches_and_captions_reach_their_own_windows(tmp_path, checkpoint, clips, chat):
    settings = settings_for(tmp_path, checkpoint)
    engine = get_engine(settings.db_url)
    with BatchedPipeline(settings, chat=chat, frame_source=DecordSource()) as pipe:
        outcomes = pipe.ingest_paths(engine, [str(c) for c in clips])
    assert [o.status for o in outcomes] == ["done"] * 3
    assert [o.path for o in outcomes] == [str(c) for c in clips]
    first = pipe.batcher.batches[0]
    assert {Path(p).name for p in first} == {"clip0.mp4", "clip1.mp4", "clip2.mp4"}  # windows of all three
    got = stored(engine)
    assert sorted(got) == ["clip0.mp4", "clip1.mp4", "clip2.mp4"]
    for clip in clips:
        windows = got[clip.name]
        assert len(windows) >= 2
        assert [caption for _, caption in windows] == [alone(chat, clip, idx) for idx, _ in windows]
    assert len({c for w in got.values() for _, c in w}) > 2  # different frames, different captions


class FailingSource:
    """decord, except that one file's reader fails on its second window."""

    name = "failing"

    def __init__(self, bad: str) -> None:
        self.bad, self.inner = bad, DecordSource()

    def open(self, path):
        reader = self.inner.open(path)
        if Path(path).name != self.bad:
            return reader
        calls = []

        class Broken:
            def read(self, indices):
                calls.append(indices)
                if len(calls) == 2:
                    raise FrameReadError("cannot decode video frames (corrupt packet)")
                return reader.read(indices)

            def close(self):
                reader.close()

        return Broken()


def test_a_file_failing_mid_batch_fails_alone(tmp_path, checkpoint, clips, chat):
    settings = settings_for(tmp_path, checkpoint)
    engine = get_engine(settings.db_url)
    with BatchedPipeline(settings, chat=chat, frame_source=FailingSource("clip1.mp4")) as pipe:
        outcomes = pipe.ingest_paths(engine, [str(c) for c in clips])
    # `ingest` gives each file one attempt: a failed file is quarantined (as on the one-file path)
    assert [o.status for o in outcomes] == ["done", "quarantined", "done"]
    assert "corrupt packet" in outcomes[1].error
    got = stored(engine)
    assert sorted(got) == ["clip0.mp4", "clip2.mp4"]  # nothing half-written for the failed file
    for clip in (clips[0], clips[2]):
        assert [c for _, c in got[clip.name]] == [alone(chat, clip, idx) for idx, _ in got[clip.name]]
    ran = [Path(p).name for b in pipe.batcher.batches for p in b]
    assert ran.count("clip1.mp4") <= 1  # its first window may have run; nothing after the failure


def test_chosen_by_configuration_alone(tmp_path, checkpoint, monkeypatch):
    auto = settings_for(tmp_path, checkpoint, batched="auto")
    monkeypatch.setattr(batched, "cuda_present", lambda: False)
    assert not batched_enabled(auto) and pipeline_for(auto) is None  # no CUDA: the CPU path stays
    assert batched_enabled(settings_for(tmp_path, checkpoint, batched="on"))  # forced, e.g. for tests
    monkeypatch.setattr(batched, "cuda_present", lambda: True)
    assert batched_enabled(auto) and isinstance(pipeline_for(auto), BatchedPipeline)
    assert not batched_enabled(settings_for(tmp_path, checkpoint, batched="off"))
    assert not batched_enabled(Settings(home=tmp_path))  # no model: the embedded analyser, one file at a time


def test_watch_takes_the_batched_path_by_configuration(tmp_path, checkpoint, monkeypatch):
    from cogvlm_media.watch.daemon import Daemon, WatchOptions

    settings = settings_for(tmp_path, checkpoint, batched="auto")
    engine = get_engine(settings.db_url)
    monkeypatch.setattr(batched, "cuda_present", lambda: True)
    daemon = Daemon(engine, settings, WatchOptions(roots=[str(tmp_path)]))
    assert isinstance(daemon.pipeline, BatchedPipeline) and daemon.process == daemon.pipeline.process_run
    monkeypatch.setattr(batched, "cuda_present", lambda: False)
    daemon = Daemon(engine, settings, WatchOptions(roots=[str(tmp_path)]))
    from cogvlm_media.ingest.claimed_run import process_run

    assert daemon.pipeline is None and daemon.process is process_run


def _cli_home(tmp_path, monkeypatch, model_lines: str) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("COGVLM_MEDIA_HOME", str(home))
    monkeypatch.delenv("COGVLM_MEDIA_DB", raising=False)
    config = tmp_path / "config.toml"
    config.write_text(f"[analysis]\nwindow_seconds = 3.0\n\n[model]\n{model_lines}", encoding="utf-8")
    monkeypatch.setenv("COGVLM_MEDIA_CONFIG", str(config))
    return home


def test_cogvlm_media_ingest_runs_the_batched_path_on_the_cpu(tmp_path, monkeypatch, checkpoint, clips, chat):
    from typer.testing import CliRunner

    from cogvlm_media.cli.app import app

    home = _cli_home(tmp_path, monkeypatch, f'path = "{checkpoint}"\nbatched = "on"\nbatch_size = 64\n'
                                            'max_new_tokens = 5\nfiles_in_flight = 3\n')
    runs = []
    real = BatchedPipeline.ingest_paths
    monkeypatch.setattr(BatchedPipeline, "ingest_paths",
                        lambda self, *a, **k: runs.append(self) or real(self, *a, **k))
    result = CliRunner().invoke(app, ["ingest", "-q", *map(str, clips)])
    assert result.exit_code == 0, result.output
    assert len(runs) == 1 and len(runs[0].batcher.batches) >= 1
    got = stored(get_engine(f"sqlite:///{home / 'cogvlm-media.db'}"))
    assert sorted(got) == ["clip0.mp4", "clip1.mp4", "clip2.mp4"]
    for clip in clips:
        assert [c for _, c in got[clip.name]] == [alone(chat, clip, idx) for idx, _ in got[clip.name]]


def test_a_model_that_cannot_load_is_one_line(tmp_path, monkeypatch, clips):
    from typer.testing import CliRunner

    from cogvlm_media.cli.app import app

    _cli_home(tmp_path, monkeypatch, f'path = "{tmp_path / "no-such-checkpoint"}"\nbatched = "on"\n')
    result = CliRunner().invoke(app, ["ingest", "-q", str(clips[0])])
    assert result.exit_code == 1
    assert "Traceback" not in result.output and "no-such-checkpoint" in result.output
    assert len([line for line in result.output.splitlines() if line.strip()]) == 1

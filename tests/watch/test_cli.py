"""`status [--json]` and `retry JOB|--quarantined` (in process)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cogvlm_media.cli.app import app
from cogvlm_media.store import jobs
from cogvlm_media.store.engine import dispose_all, get_engine


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("COGVLM_MEDIA_HOME", str(tmp_path))
    monkeypatch.setenv("COGVLM_MEDIA_CONFIG", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("")
    yield tmp_path
    dispose_all()


def test_status_json_and_retry(home):
    engine = get_engine(f"sqlite:///{home / 'cogvlm-media.db'}")
    jobs.enqueue_many(engine, [("/v/a.mp4", 1, 1), ("/v/b.mp4", 1, 1), ("/v/c.mp4", 1, 1)])
    a = jobs.claim(engine, "w", 60)
    jobs.fail(engine, a.id, "w", "not a readable media file", retryable=False)
    b = jobs.claim(engine, "w", 60)
    jobs.fail(engine, b.id, "w", "busy", retryable=True, backoff_seconds=60)
    runner = CliRunner()
    result = runner.invoke(app, ["status", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["counts"] == {"queued": 1, "running": 0, "failed": 1, "done": 0, "quarantined": 1}
    assert [(r["path"], r["error"]) for r in doc["quarantined"]] == [("/v/a.mp4", "not a readable media file")]
    assert doc["retrying"][0]["next_attempt_at"] and doc["retrying"][0]["attempts"] == 1
    human = runner.invoke(app, ["status"])
    assert "quarantined 1" in human.stdout and "not a readable media file" in human.stdout

    assert runner.invoke(app, ["retry"]).exit_code == 2
    assert runner.invoke(app, ["retry", "999"]).exit_code == 1
    result = runner.invoke(app, ["retry", "--quarantined"])
    assert result.exit_code == 0 and "queued 1" in result.stdout
    result = runner.invoke(app, ["retry", str(b.id)])
    assert result.exit_code == 0
    assert jobs.counts(engine)["queued"] == 3


def test_watch_rejects_a_missing_folder(home):
    result = CliRunner().invoke(app, ["watch", str(home / "nope")])
    assert result.exit_code == 1 and "not a folder" in result.output

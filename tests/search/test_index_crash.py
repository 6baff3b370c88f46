"""A kill at any step of an index update or rebuild leaves an index that the next update, a search and
``reindex`` all carry on from (issue 13, item 1).

Each step of the writer calls ``durable.crash_point(step)``; the tests make one step die with
``Killed`` (a BaseException, so no ``except Exception`` on the way tidies up after it, as after
``kill -9``) and leave on disk whatever that step had written. The first test builds the leftover of
the kill the issue saw by hand: a complete ``vectors-NNNNNN`` folder that ``state.json`` never named."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

import searchkit
from cogvlm_media.cli.app import app
from cogvlm_media.config import Settings
from cogvlm_media.search import durable, sync
from cogvlm_media.search.backend import open_backend
from cogvlm_media.search.check import check
from cogvlm_media.search.query import search
from cogvlm_media.store.engine import get_engine

UPDATE_STEPS = ["lexical-updated", "vectors-arrays-written", "vectors-complete", "vectors-renamed",
                "state-written", "state-replaced", "cleaned"]
REBUILD_STEPS = ["lexical-built", "vectors-arrays-written", "vectors-complete", "vectors-renamed",
                 "state-written", "state-replaced", "cleaned"]


class Killed(BaseException):
    pass


@pytest.fixture
def home(tmp_path, embedder):
    settings = Settings(home=tmp_path)
    engine = get_engine(settings.db_url)
    searchkit.add_asset(engine, settings, "a.mov", captions=["A cat sleeps on the windowsill."], emit=False)
    sync.Indexer(settings, engine).catch_up()
    return settings, engine


def cli(settings, *args):
    env = {"COGVLM_MEDIA_HOME": str(settings.home), "COGVLM_MEDIA_DB": settings.db_url, "COGVLM_MEDIA_CONFIG": ""}
    return CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)


def hits(settings, engine, text):
    return [h.asset_id for h in search(open_backend(settings, engine), engine, text, mode="lexical").hits]


def assert_search_works(settings, engine, b):
    """``search`` (which catches up first), the indexes it left, each ``reindex`` variant."""
    out = cli(settings, "search", "violinist", "--json")
    assert out.exit_code == 0 and json.loads(out.stdout)["hits"][0]["asset_id"] == b
    assert hits(settings, engine, "violinist") == [b]
    assert hits(settings, engine, "cat")
    for args in (["reindex", "--catch-up"], ["reindex", "--check"], ["reindex"], ["reindex", "--check"]):
        out = cli(settings, *args)
        assert out.exit_code == 0, (args, out.stdout)
    assert check(sync.Indexer(settings, engine), repair=False).ok
    root = sync.index_root(settings)
    assert not [p.name for p in root.iterdir() if p.name.endswith(".tmp")]


def test_a_generation_folder_left_by_a_kill_does_not_block_later_updates(home):
    settings, engine = home
    root = sync.index_root(settings)
    state = sync.IndexState.read(root)
    # the kill the issue saw: vectors-(N+1) renamed into place, state.json still names vectors-N
    shutil.copytree(root / state.vectors, root / f"vectors-{state.generation + 1:06d}")
    shutil.copytree(root / state.vectors, root / f"vectors-{state.generation + 1:06d}.tmp")
    (root / "state.json.tmp").write_text("{\"half")
    b = searchkit.add_asset(engine, settings, "b.mov", captions=["A violinist tunes her instrument."], emit=False)
    assert_search_works(settings, engine, b)


@pytest.mark.parametrize("step", UPDATE_STEPS)
def test_a_kill_at_each_step_of_an_update_leaves_search_working(home, monkeypatch, step):
    settings, engine = home
    seen = []

    def die(at):
        seen.append(at)
        if at == step:
            raise Killed(at)

    monkeypatch.setattr(durable, "crash_point", die)
    b = searchkit.add_asset(engine, settings, "b.mov", captions=["A violinist tunes her instrument."], emit=False)
    with pytest.raises(Killed):
        sync.Indexer(settings, engine).catch_up()
    assert seen[-1] == step
    monkeypatch.undo()
    assert_search_works(settings, engine, b)


@pytest.mark.parametrize("step", REBUILD_STEPS)
def test_a_kill_at_each_step_of_a_rebuild_leaves_search_working(home, monkeypatch, step):
    settings, engine = home
    b = searchkit.add_asset(engine, settings, "b.mov", captions=["A violinist tunes her instrument."], emit=False)

    def die(at):
        if at == step:
            raise Killed(at)

    monkeypatch.setattr(durable, "crash_point", die)
    with pytest.raises(Killed):
        sync.Indexer(settings, engine).rebuild()
    monkeypatch.undo()
    assert_search_works(settings, engine, b)


def test_reindex_repairs_a_damaged_state_file(home):
    settings, engine = home
    root = sync.index_root(settings)
    (root / "state.json").write_text("{not json")
    b = searchkit.add_asset(engine, settings, "b.mov", captions=["A violinist tunes her instrument."], emit=False)
    assert cli(settings, "reindex").exit_code == 0
    assert hits(settings, engine, "violinist") == [b]
    state = sync.IndexState.read(root)
    shutil.rmtree(root / state.vectors)  # a generation lost under a current state.json
    assert cli(settings, "reindex").exit_code == 0
    assert check(sync.Indexer(settings, engine), repair=False).ok

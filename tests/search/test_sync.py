"""The indexes follow the database: updates, deletes, crashes between the two, the lock.

These tests need direct control of the database, so they write rows with ``searchkit.add_asset`` (the
store's one-transaction writer that ingest uses, then the ``asset_changed`` event, or none): window
captions only a configured vision model would produce, a re-analysis that replaces an asset's rows, an
event that never fires, a crash between the database commit and the index, an asset deleted outright.
The shared archive (conftest.py) and the ranking of verified markers (test_archive.py) go through the
public ingest and import-markers paths, and the last test here brings its marker in with import-markers."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

import searchkit
from cogvlm_media.cli.app import app
from cogvlm_media.config import Settings
from cogvlm_media.search import sync
from cogvlm_media.search.backend import open_backend
from cogvlm_media.search.check import check
from cogvlm_media.search.lexical import LexicalIndex
from cogvlm_media.search.query import search
from cogvlm_media.store import models as store_models
from cogvlm_media.store.engine import get_engine, write_session


@pytest.fixture
def home(tmp_path, embedder):
    settings = Settings(home=tmp_path)
    return settings, get_engine(settings.db_url)


def cli(settings, *args):
    env = {"COGVLM_MEDIA_HOME": str(settings.home), "COGVLM_MEDIA_DB": settings.db_url, "COGVLM_MEDIA_CONFIG": ""}
    return CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)


def find(settings, engine, text, **kw):
    return search(open_backend(settings, engine), engine, text, **kw).hits


def test_updates_and_deletes_follow_the_database(home):
    settings, engine = home
    a = searchkit.add_asset(engine, settings, "kite.mov", captions=["A red kite flies over the hill."])
    searchkit.add_asset(engine, settings, "other.mov", captions=["A tram crosses the old bridge."])
    assert find(settings, engine, "kite", mode="lexical")[0].asset_id == a
    # re-analysis replaces the caption
    searchkit.add_asset(engine, settings, "kite.mov", captions=["A blue boat drifts on the lake."])
    assert not find(settings, engine, "kite", mode="lexical")
    assert find(settings, engine, "boat", mode="lexical")[0].asset_id == a
    # an editor supersedes nothing here, but deletes the asset entirely
    with write_session(engine) as session:
        session.delete(session.get(store_models.Asset, a))
    from cogvlm_media import hooks

    hooks.emit("asset_changed", engine, settings, asset_id=a)
    assert not find(settings, engine, "boat", mode="lexical")
    assert all(h.asset_id != a for h in find(settings, engine, "boat on a lake"))
    report = check(sync.Indexer(settings, engine), repair=False)
    assert report.ok and report.documents == report.lexical == report.vectors == 1


def test_superseded_markers_leave_the_index(home):
    settings, engine = home
    a = searchkit.add_asset(engine, settings, "m.mov", moments=[(3.0, "Goalkeeper dives left")])
    assert find(settings, engine, "goalkeeper", mode="lexical")
    with write_session(engine) as session:
        mk = session.scalars(select(store_models.Marker).where(store_models.Marker.asset_id == a)).one()
        mk.superseded = True
    sync.on_asset_changed(engine, settings, asset_id=a)
    assert not find(settings, engine, "goalkeeper", mode="lexical")


def test_missed_event_is_caught_up_on_start(home, monkeypatch):
    settings, engine = home
    searchkit.add_asset(engine, settings, "first.mov", captions=["A lighthouse beam sweeps the fog."])

    def broken(*_a, **_k):
        raise RuntimeError("listener crashed")

    monkeypatch.setattr(sync, "on_asset_changed", broken)
    b = searchkit.add_asset(engine, settings, "second.mov", captions=["A fisherman mends his nets."])
    monkeypatch.undo()
    stale = cli(settings, "reindex", "--check", "--no-repair", "--json")
    assert stale.exit_code == 1 and json.loads(stale.stdout)["pending"] == [b]
    out = cli(settings, "search", "fisherman", "--json")  # search catches up from the high-water mark
    assert out.exit_code == 0 and json.loads(out.stdout)["hits"][0]["asset_id"] == b
    assert cli(settings, "reindex", "--check").exit_code == 0


def test_crash_mid_update_is_caught_and_repaired(home, monkeypatch):
    settings, engine = home
    searchkit.add_asset(engine, settings, "a.mov", captions=["A cat sleeps on the windowsill."])

    def crash(*_a, **_k):
        raise OSError("power cut")

    # the lexical index commits, then the process dies before the vectors and state.json
    monkeypatch.setattr(sync, "write_generation", crash)
    b = searchkit.add_asset(engine, settings, "b.mov", captions=["A violinist tunes her instrument."])
    monkeypatch.undo()
    report = check(sync.Indexer(settings, engine), repair=False)
    assert not report.ok and report.pending == [b]
    # an index that claims to be current but lost documents (restored from an old backup, say)
    state = sync.IndexState.read(sync.index_root(settings))
    LexicalIndex(sync.index_root(settings) / state.lexical).replace_assets({1: []})
    report = check(sync.Indexer(settings, engine), repair=True)
    assert report.inconsistent == [1] and report.missing >= 1 and report.repaired
    assert check(sync.Indexer(settings, engine), repair=False).ok
    assert find(settings, engine, "violinist", mode="lexical")[0].asset_id == b
    assert find(settings, engine, "cat", mode="lexical")


def test_one_writer_at_a_time_and_readers_never_block(home):
    settings, engine = home
    searchkit.add_asset(engine, settings, "x.mov", captions=["A juggler tosses three clubs."])
    root = sync.index_root(settings)
    with sync.write_lock(root):
        with pytest.raises(sync.IndexBusy):
            sync.Indexer(settings, engine).catch_up(timeout=0)
        assert find(settings, engine, "juggler", mode="lexical")  # reading while a writer holds the lock


def test_empty_and_unindexed_archives_say_so(home):
    settings, engine = home
    empty = cli(settings, "search", "anything")
    assert empty.exit_code == 1 and "archive is empty" in empty.stderr
    searchkit.add_asset(engine, settings, "y.mov", captions=["A kettle boils."], emit=False)
    unindexed = cli(settings, "search", "kettle")
    assert unindexed.exit_code == 1 and "not indexed" in unindexed.stderr and "reindex" in unindexed.stderr
    assert cli(settings, "reindex").exit_code == 0
    assert "kettle" in cli(settings, "search", "kettle").stdout.lower()


def test_imported_markers_are_searchable_and_verified(home, tmp_path):
    """The editor's round trip (`import-markers`) fires asset_changed; its markers rank first."""
    settings, engine = home
    a = searchkit.add_asset(engine, settings, "lecture.mov",
                            captions=["A presenter stands up behind the lectern.", "Slides about tides."])
    markers = {"format": "cogvlm-media-markers", "assets": [{"id": a, "markers": [
        {"seconds": 30.0, "name": "Speaker rises to answer", "note": "the presenter gets to her feet",
         "kind": "moment"}]}]}
    path = tmp_path / "markers.json"
    path.write_text(json.dumps(markers))
    out = cli(settings, "import-markers", str(path), "--asset", str(a), "--no-delete")
    assert out.exit_code == 0, out.output
    doc = json.loads(cli(settings, "search", "when does the speaker stand up", "--json").stdout)
    top = doc["hits"][0]
    assert top["verified"] and top["time"] == 30.0 and top["source"] == "marker"
    assert any(h["kind"] == "caption" and not h["verified"] for h in doc["hits"][1:]), doc["hits"]
    assert cli(settings, "reindex", "--check").exit_code == 0


@pytest.mark.parametrize("name,note,text", [
    ("Flash", "", "Flash"),
    ("Flash", "Flash", "Flash"),
    ("Flash", "a bright flash", "Flash. a bright flash"),
    ("", "only a note", "only a note"),
    ("Each shot change here is a…", "Each shot change here is a hard cut.", "Each shot change here is a hard cut."),
    ("Speaker: hello", "Hello there.", "Speaker: hello. Hello there."),
    ("Welcome to the demo.", "0:00–0:20, 4 shots.", "Welcome to the demo. 0:00–0:20, 4 shots."),  # no ".."
])
def test_a_marker_is_indexed_by_its_name_and_note_once_each(name, note, text):
    from cogvlm_media.search.documents import marker_text

    assert marker_text(name, note) == text

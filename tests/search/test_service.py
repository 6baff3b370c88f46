"""The search service that `cogvlm-media search` and GET /api/v1/search share: request checks,
readiness (empty, not indexed, caught up, lagging behind a busy index) and the query itself."""

from __future__ import annotations

import pytest

import searchkit
from cogvlm_media.config import Settings
from cogvlm_media.search import sync
from cogvlm_media.search.documents import KINDS
from cogvlm_media.search.query import MODES
from cogvlm_media.search.service import (EMPTY_ARCHIVE, InvalidSearch, Readiness, SearchRequest, SearchService,
                                         check_request)
from cogvlm_media.store.engine import get_engine


def test_check_request_drops_repeats_and_refuses_in_order():
    assert check_request("kite", "lexical", ["caption", "scene", "caption"], 5, [3, 1, 3]) == \
        SearchRequest("kite", 5, "lexical", ("caption", "scene"), (3, 1))
    with pytest.raises(InvalidSearch) as empty:
        check_request("   ", "fuzzy", ["bogus"])
    assert (empty.value.field, empty.value.unknown) == ("query", ())
    with pytest.raises(InvalidSearch) as mode:
        check_request("kite", "fuzzy", ["bogus"])
    assert (mode.value.field, mode.value.unknown, mode.value.choices) == ("mode", ("fuzzy",), MODES)
    with pytest.raises(InvalidSearch) as kind:
        check_request("kite", "hybrid", ["scene", "bogus", "nope", "bogus"])
    assert (kind.value.field, kind.value.unknown, kind.value.choices) == ("kind", ("bogus", "nope"), KINDS)


def test_readiness_follows_the_archive_and_the_query_runs(tmp_path, embedder):
    settings = Settings(home=tmp_path)
    engine = get_engine(settings.db_url)
    service = SearchService(settings, engine)
    assert service.readiness() == Readiness("empty", EMPTY_ARCHIVE)
    searchkit.add_asset(engine, settings, "kettle.mov", captions=["A kettle boils."], emit=False)
    assert service.readiness() == Readiness(
        "not_indexed", "the archive (1 assets) is not indexed yet: run `cogvlm-media reindex`")
    sync.Indexer(settings, engine).rebuild()
    assert service.readiness() == Readiness("ready")
    tram = searchkit.add_asset(engine, settings, "tram.mov", captions=["A tram crosses the bridge."], emit=False)
    with sync.write_lock(sync.index_root(settings)):  # another process is updating the index
        assert service.readiness() == Readiness("ready", lagging=True)
        assert not service.search(check_request("tram", "lexical")).hits
    assert service.readiness() == Readiness("ready")  # caught up now
    hits = service.search(check_request("tram", "lexical")).hits
    assert [(h.asset_id, h.text) for h in hits] == [(tram, "A tram crosses the bridge.")]

"""Search over the shared archive: transcript word times, filters and the CLI's JSON document."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from cogvlm_media.cli.app import app
from cogvlm_media.search.backend import Filters, open_backend
from cogvlm_media.search.query import search

import mediagen
import searchkit


def cli(archive, *args):
    env = {"COGVLM_MEDIA_HOME": str(archive.settings.home), "COGVLM_MEDIA_DB": archive.settings.db_url,
           "COGVLM_MEDIA_CONFIG": ""}
    return CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)


def test_verified_markers_rank_above_model_output_and_near_hits_collapse(archive):
    """The editor's imported marker (a reel, verified) outranks the speech clip's own model output, which
    matches the query better; that model output (transcript segment and speech marker, the same
    sentence at the same time) collapses into one hit."""
    backend = open_backend(archive.settings, archive.engine)
    hits = search(backend, archive.engine, searchkit.VERIFIED_QUERY, limit=10).hits
    assert hits[0].verified
    at = {(h.asset_id, h.time): i for i, h in enumerate(hits)}
    assert archive.verified in at, [(h.asset_id, h.time, h.text) for h in hits]
    top = hits[at[archive.verified]]
    assert top.source == "marker" and top.kind == "moment" and "checked by the editor" in top.text
    model = next(h for h in hits if h.asset_id == archive.speech_asset)
    assert hits.index(top) < hits.index(model)
    assert not model.verified and "kitchen table" in model.text.lower()
    # a better match on both counts: it won on its own terms, the editor's marker by being verified
    assert model.lexical_score > top.lexical_score and model.semantic_score > top.semantic_score
    sources = {model.source, *(c["source"] for c in model.collapsed)}
    assert {"segment", "marker"} <= sources and len([h for h in hits if h.asset_id == archive.speech_asset
                                                      and abs(h.time - model.time) <= 5]) == 1


def test_unrelated_hits_are_left_out_and_the_end_is_said(archive):
    """No padding to the limit: "kitchen table" finds what says kitchen or table (the speech clip, the
    editor's kitchen counter, a dining table), not the semantic tail of unrelated verified captions."""
    backend = open_backend(archive.settings, archive.engine)
    result = search(backend, archive.engine, "kitchen table", limit=10)
    assert 0 < len(result.hits) < 10 and result.more is False
    assert all("lexical" in h.matched for h in result.hits), [(h.text, h.matched) for h in result.hits]
    assert result.hits[0].verified and "kitchen" in result.hits[0].text.lower()
    assert search(backend, archive.engine, "kitchen table", limit=1).more is True
    # a query only one file answers: one hit, not the best of 1,100 unrelated captions
    fox = search(backend, archive.engine, "the quick brown fox jumps over the lazy dog", limit=10)
    assert [h.asset_id for h in fox.hits] == [archive.speech_asset] and fox.more is False


def test_transcript_words_found_with_their_times(archive):
    backend = open_backend(archive.settings, archive.engine)
    kitchen = next(u for u in mediagen.SPEECH if "kitchen" in u.text)
    hits = search(backend, archive.engine, "kitchen", limit=5, filters=Filters(kinds=("transcript",))).hits
    assert hits, "the spoken word 'kitchen' is not found"
    hit = hits[0]
    assert hit.asset_id == archive.speech_asset and hit.kind == "transcript" and "lexical" in hit.matched
    # the hit points at the word, not at the segment's start
    assert kitchen.at + 0.5 < hit.time < kitchen.at + 5.0, (hit.time, kitchen.at)
    assert "kitchen" in hit.text.lower()


def test_stemming_finds_other_word_forms(archive):
    backend = open_backend(archive.settings, archive.engine)
    hits = search(backend, archive.engine, "kitchens tables", limit=3, mode="lexical").hits
    # editor-verified markers that say "table" may rank first (the verified boost); the best lexical
    # match, both stems of the query, is the speech clip's "kitchen table"
    best = max(hits, key=lambda h: h.lexical_score)
    assert best.asset_id == archive.speech_asset and "kitchen table" in best.text.lower()
    assert not best.verified and best.kind in ("transcript", "speech")


def test_filters_by_asset_and_kind(archive):
    backend = open_backend(archive.settings, archive.engine)
    some_asset, _t = next(iter(archive.targets.values()))
    only = search(backend, archive.engine, "a person at work", limit=20, filters=Filters(asset_ids=(some_asset,))).hits
    assert only and {h.asset_id for h in only} == {some_asset}
    moments = search(backend, archive.engine, "kitchen table", limit=20, filters=Filters(kinds=("moment",))).hits
    assert moments and {h.kind for h in moments} == {"moment"}
    assert archive.speech_asset not in {h.asset_id for h in moments}  # its markers are scenes and speech
    scenes = search(backend, archive.engine, "kitchen table", limit=20, filters=Filters(kinds=("scene",))).hits
    assert scenes and {h.kind for h in scenes} == {"scene"} and scenes[0].asset_id == archive.speech_asset
    speech = search(backend, archive.engine, "kitchen table", limit=20,
                    filters=Filters(kinds=("transcript", "speech"))).hits
    assert speech and {h.kind for h in speech} <= {"transcript", "speech"}
    assert all(h.asset_id == archive.speech_asset for h in speech[:1])


HIT_KEYS = {"rank", "asset_id", "file", "time", "timecode", "end", "end_timecode", "kind", "source", "id", "text",
            "matched", "score", "lexical_score", "semantic_score", "verified", "collapsed", "refined"}


def test_cli_json_shape_is_stable(archive):
    # "kitchen table" has four relevant hits (test_unrelated_hits_are_left_out...): three shown, more said
    for query, count, more in (("kitchen table", 3, True), ("someone gets up from a chair", 1, False)):
        result = cli(archive, "search", query, "--limit", "3", "--json")
        assert result.exit_code == 0, result.output
        doc = json.loads(result.stdout)
        assert set(doc) == {"schema_version", "query", "mode", "filters", "count", "more", "hits"}
        assert doc["schema_version"] == 1 and doc["count"] == len(doc["hits"]) == count and doc["more"] is more
        assert doc["filters"] == {"asset_ids": [], "kinds": []}
        for i, hit in enumerate(doc["hits"], 1):
            assert set(hit) == HIT_KEYS and hit["rank"] == i
            assert isinstance(hit["time"], float) and len(hit["timecode"].replace(";", ":").split(":")) == 4
            assert set(hit["matched"]) <= {"lexical", "semantic"} and hit["matched"]
    # the one relevant hit for the paraphrase is its target (the rest of the archive is unrelated to it)
    asset_id, time = archive.targets["someone gets up from a chair"]
    assert (doc["hits"][0]["asset_id"], doc["hits"][0]["time"]) == (asset_id, time)


def test_cli_table_filters_and_errors(archive):
    out = cli(archive, "search", "kitchen", "--asset", str(archive.speech_asset), "--kind", "transcript")
    assert out.exit_code == 0 and "hits for 'kitchen'" in out.stdout and "00:00:1" in out.stdout
    bad = cli(archive, "search", "kitchen", "--kind", "nonsense")
    assert bad.exit_code == 2 and "unknown --kind" in bad.stderr
    missing = cli(archive, "search", "kitchen", "--asset", "99999")
    assert missing.exit_code == 1 and "no ingested asset" in missing.stderr
    refine = cli(archive, "search", "kitchen", "--refine")
    assert refine.exit_code == 1 and "vision model" in refine.stderr and len(refine.stderr.strip().splitlines()) == 1


def test_check_reports_consistent(archive):
    out = cli(archive, "reindex", "--check", "--json")
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    assert report["ok"] and report["documents"] == report["lexical"] == report["vectors"] > 1100

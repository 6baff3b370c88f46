"""Search fixtures: MiniLM loaded once per session, and one archive with a real ingested clip,
24 paraphrase targets and over a thousand distractor moments."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import searchkit  # noqa: E402

from cogvlm_media.config import Settings  # noqa: E402
from cogvlm_media.store.engine import get_engine  # noqa: E402


@pytest.fixture(scope="session")
def embedder():
    from cogvlm_media.search.embed import get_embedder

    e = get_embedder()
    e.encode(["warm up"])
    return e


@dataclass
class Archive:
    settings: Settings
    engine: object
    targets: dict[str, tuple[int, float]]  # query -> (asset id, time of the captioned window)
    speech_asset: int
    distractors: int


def make_settings(home: Path) -> Settings:
    return Settings(home=home)


@pytest.fixture(scope="session")
def archive(tmp_path_factory, speech_clip, embedder) -> Archive:
    from cogvlm_media.cli.ingest import ingest_files

    home = tmp_path_factory.mktemp("search-archive")
    settings = make_settings(home)
    engine = get_engine(settings.db_url)
    # a real clip through the public ingest path (shots, speech, embedded analyser, asset_changed)
    outcomes = ingest_files(settings, engine, [str(speech_clip.path)], show_progress=False)
    assert outcomes[0].status == "done", outcomes[0].error
    speech_asset = outcomes[0].asset_id

    captions = searchkit.distractor_captions(1100)
    targets: dict[str, tuple[int, float]] = {}
    per_asset = 25
    paraphrases = list(searchkit.PARAPHRASES)
    for n in range(0, len(captions), per_asset):
        chunk = captions[n:n + per_asset]
        slot = None
        if paraphrases:  # one target caption hidden among each asset's distractors
            query, caption = paraphrases.pop()
            slot = (n // per_asset * 7) % len(chunk)
            chunk = chunk[:slot] + [caption] + chunk[slot:]
        asset_id = searchkit.add_asset(engine, settings, f"reel_{n // per_asset:03d}.mov", captions=chunk)
        if slot is not None:
            targets[query] = (asset_id, slot * searchkit.WINDOW)
    assert not paraphrases
    return Archive(settings, engine, targets, speech_asset, len(captions))

"""Search fixtures: MiniLM loaded once per session, and one archive with a real ingested clip,
24 paraphrase targets and over a thousand distractor moments, built through the public ingest
and import-markers paths."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import searchkit  # noqa: E402
from pgserver import pg_server_fixture  # noqa: E402

from cogvlm_media.config import Settings  # noqa: E402
from cogvlm_media.store.engine import get_engine  # noqa: E402


@pytest.fixture(scope="session")
def embedder():
    from cogvlm_media.search.sentence_vectors import get_embedder

    e = get_embedder()
    e.encode(["warm up"])
    return e


@dataclass
class Archive:
    settings: Settings
    engine: object
    targets: dict[str, tuple[int, float]]  # query -> (asset id, time of the imported caption marker)
    speech_asset: int
    distractors: int
    reels: list[int]
    verified: tuple[int, float]  # the editor's marker for VERIFIED_QUERY: (asset id, time)


def make_settings(home: Path, database_url: str = "") -> Settings:
    return Settings(home=home, database_url=database_url)


REELS = 4
FPS = 24  # the lowest rate SMPTE timecodes (and so search hits) support; whole seconds are exact frames
SPACING = 6.0  # seconds between moments: more than hybrid.COLLAPSE_SECONDS, so none collapse into another
FIRST = 3.0


search_pg = pg_server_fixture("search_pg", scope="session")


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def archive(request, tmp_path_factory, speech_clip, embedder) -> Archive:
    """Everything through the public paths: the speech clip and four silent reels ingested with
    ``ingest_paths``, then the reels' moments (1,100 distractor captions and 24 paraphrase targets, the
    captions a vision model would write) brought in from marker lists with ``import-markers``.
    Built once on SQLite (the local backend) and once on a PostgreSQL server the tests start (its backend,
    cogvlm_media/search/postgres.py): the same tests, the same assertions."""
    home = tmp_path_factory.mktemp(f"search-archive-{request.param}")
    settings = make_settings(home, request.getfixturevalue("search_pg").new_database("search")
                             if request.param == "postgresql" else "")
    engine = get_engine(settings.db_url)
    captions = searchkit.distractor_captions(1100)
    paraphrases = list(searchkit.PARAPHRASES)
    per_reel = (len(captions) + len(paraphrases)) // REELS
    seconds = FIRST + SPACING * per_reel + 10
    media = home / "media"
    media.mkdir()
    reel_paths = [searchkit.render_reel(media / f"reel_{i:03d}.mov", i, seconds, FPS) for i in range(REELS)]
    speech_asset, *reels = searchkit.ingest(settings, engine, speech_clip.path, *reel_paths)

    targets: dict[str, tuple[int, float]] = {}
    per_target = len(paraphrases) // REELS
    for i, asset_id in enumerate(reels):
        chunk: list[tuple[str | None, str]] = [(None, c) for c in captions[i::REELS]]
        for j in range(per_target):  # targets hidden among each reel's distractors, at spread positions
            chunk.insert(5 + 7 * i + j * (per_reel // per_target), paraphrases.pop())
        markers = []
        for k, (query, caption) in enumerate(chunk):
            time = FIRST + SPACING * k
            markers.append(searchkit.caption_marker(time, caption))
            if query:
                targets[query] = (asset_id, time)
        searchkit.import_markers(settings, home, asset_id, searchkit.marker_list(asset_id, FPS, markers))
    assert not paraphrases and len(targets) == len(searchkit.PARAPHRASES)
    # the editor's marker, at a free slot past the last moment of the second reel
    verified_time = FIRST + SPACING * (per_reel + 1)
    name, note = searchkit.VERIFIED_MARKER
    searchkit.import_markers(settings, home, reels[1], searchkit.marker_list(
        reels[1], FPS, [searchkit.caption_marker(verified_time, name, note)]), "--no-delete")
    return Archive(settings, engine, targets, speech_asset, len(captions), reels, (reels[1], verified_time))

"""The PostgreSQL half of the cluster benchmark (bench/cluster.py holds the Ray half).

- ``claim``: the ingest queue's claim rate (``jobs.claim``: one transaction, ``FOR UPDATE SKIP LOCKED``)
  with 60,000 files queued, for 1 and 4 claimers at once (threads, each its own connection).
- ``lexical``: PostgreSQL full text search (``tsvector`` + GIN, ``ts_rank_cd``) against the tantivy index
  the search backend keeps per reader node, over the same synthetic captions (bench/search.py's
  vocabulary) and the same OR-ed query words: p50/p95 of a top-50 query.

Without ``--db`` a temporary PostgreSQL server is started on a unix socket (tests/pgserver.py). Run:
``python bench/cluster_postgres.py [--files 60000] [--moments 300000]``; results go to
bench/results/cluster_postgres.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from sqlalchemy import text  # noqa: E402

from cogvlm_media.store import jobs  # noqa: E402
from cogvlm_media.store.engine import get_engine  # noqa: E402


def pct(values: list[float]) -> dict:
    values = sorted(values)
    return {"p50_ms": round(1000 * statistics.median(values), 2),
            "p95_ms": round(1000 * values[int(0.95 * (len(values) - 1))], 2),
            "mean_ms": round(1000 * statistics.fmean(values), 2)}


def bench_claims(url: str, files: int, claims: int) -> dict:
    engine = get_engine(url)
    out: dict = {"queued_files": files}
    for workers in (1, 4):
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM ingest_runs"))
        started = time.perf_counter()
        jobs.enqueue_many(engine, [(f"/nas/reel_{i:06d}.mov", 1000 + i, i) for i in range(files)])
        enqueue_s = time.perf_counter() - started
        per: list[list[float]] = [[] for _ in range(workers)]

        def claimer(n: int) -> None:
            for _ in range(claims // workers):
                t0 = time.perf_counter()
                run = jobs.claim(engine, f"bench-{n}", 600)
                per[n].append(time.perf_counter() - t0)
                assert run is not None

        threads = [threading.Thread(target=claimer, args=(n,)) for n in range(workers)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        with engine.connect() as conn:
            running = conn.execute(text("SELECT count(*), count(DISTINCT id) FROM ingest_runs "
                                        "WHERE status = 'running'")).one()
        assert running[0] == running[1] == claims // workers * workers  # each claimed exactly once
        out[f"claimers_{workers}"] = {"enqueue_s": round(enqueue_s, 2), "claims": running[0],
                                      "claims_per_s": round(running[0] / wall, 1),
                                      "latency": pct([x for p in per for x in p])}
    return out


def bench_lexical(url: str, moments: int, queries: int) -> dict:
    import search as sb  # bench/search.py: the captions and queries of the search benchmark

    from cogvlm_media.search.documents import Document, make_key
    from cogvlm_media.search.lexical import LexicalIndex, query_terms

    rng = random.Random(1)
    captions = [sb.caption(rng) for _ in range(moments)]
    engine = get_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS bench_docs"))
        conn.execute(text("CREATE TABLE bench_docs (key bigint PRIMARY KEY, body text NOT NULL, "
                          "tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', body)) STORED)"))
    started = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        import io

        buf = io.StringIO("".join(f"{i}\t{c}\n" for i, c in enumerate(captions)))
        cur.copy_expert("COPY bench_docs (key, body) FROM STDIN", buf)
        cur.execute("CREATE INDEX bench_docs_tsv ON bench_docs USING gin (tsv)")
        cur.execute("ANALYZE bench_docs")
        raw.commit()
    finally:
        raw.close()
    pg_build = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        index = LexicalIndex(Path(tmp) / "lexical", create=True)
        with index.writer(threads=2) as writer:
            index.add(writer, (Document(make_key(1, i), i // 100, "moment", 0.0, 0.0, c) for i, c in enumerate(captions)))
            writer.commit()
            writer.wait_merging_threads()
        index.index.reload()
        tantivy_build = time.perf_counter() - started
        asked = [sb.QUERIES[i % len(sb.QUERIES)] for i in range(queries)]
        pg_times, tv_times, overlap = [], [], []
        sql = text("SELECT key, ts_rank_cd(tsv, q) AS r FROM bench_docs, to_tsquery('english', :q) q "
                   "WHERE tsv @@ q ORDER BY r DESC LIMIT 50")
        with engine.connect() as conn:
            for query in asked:
                words = query_terms(query)
                t0 = time.perf_counter()
                pg = [k for k, _r in conn.execute(sql, {"q": " | ".join(words)})]
                pg_times.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                tv = [k & ((1 << 40) - 1) for k, _s in index.search(query, 50)]
                tv_times.append(time.perf_counter() - t0)
                overlap.append(len(set(pg[:10]) & set(tv[:10])) / 10 if pg else 0.0)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE bench_docs"))
    return {"moments": moments, "queries": queries,
            "postgresql_fts": {"build_s": round(pg_build, 1), "latency": pct(pg_times)},
            "tantivy": {"build_s": round(tantivy_build, 1), "latency": pct(tv_times)},
            "top10_overlap": round(statistics.fmean(overlap), 3)}


def bench_placement(url: str, moments: int, queries: int, depth: int = 100) -> dict:
    """The PostgreSQL part of a search at ``moments`` markers: placing the fused candidates (their rows and
    assets, search/query.py) — the rest of the query runs on the node's own index, as on SQLite."""
    from sqlalchemy import select

    import archive_fill
    from cogvlm_media.search.documents import MARKER, make_key
    from cogvlm_media.search.query import _rows
    from cogvlm_media.store.engine import read_session
    from cogvlm_media.store.models import Asset

    per_asset = 1000
    engine = get_engine(url)
    rng = random.Random(2)
    texts = [sb_caption(rng) for _ in range(moments)]
    started = time.perf_counter()
    archive_fill.fill(engine, texts, per_asset)
    load_s = time.perf_counter() - started
    times = []
    rng = random.Random(3)
    for _ in range(queries):
        keys = [make_key(MARKER, rng.randrange(1, moments + 1)) for _ in range(depth)]
        t0 = time.perf_counter()
        with read_session(engine) as session:
            rows = _rows(session, keys)
            ids = {r.asset_id for r in list(rows.values())[:10]}
            list(session.scalars(select(Asset).where(Asset.id.in_(ids))))
        times.append(time.perf_counter() - t0)
        assert len(rows) == len(set(keys))
    return {"moments": moments, "candidates": depth, "load_s": round(load_s, 1), "latency": pct(times)}


def sb_caption(rng: random.Random) -> str:
    import search as sb

    return sb.caption(rng)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", help="postgresql+psycopg2://… (default: a temporary server)")
    ap.add_argument("--files", type=int, default=60_000)
    ap.add_argument("--claims", type=int, default=4_000)
    ap.add_argument("--moments", type=int, default=300_000)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--skip-lexical", action="store_true")
    ap.add_argument("--skip-claim", action="store_true")
    ap.add_argument("--placement", type=int, default=0, help="markers for the placement part (e.g. 1500000)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "cluster_postgres.json")
    args = ap.parse_args()
    from pgserver import postgres_server

    with (nullcontext(None) if args.db else postgres_server()) as server:
        url = args.db or server.url()
        result = {"cores": os.cpu_count(), "load_average_before": os.getloadavg()}
        if args.out.exists():  # parts run separately add to one file
            result = {**json.loads(args.out.read_text()), **result}
        if not args.skip_claim:
            result["claim"] = bench_claims(url, args.files, args.claims)
            print(json.dumps(result["claim"], indent=1), flush=True)
        if args.placement:
            before = os.getloadavg()
            result["placement"] = bench_placement(url, args.placement, args.queries)
            result["placement"]["load_average_before_and_after"] = [before, os.getloadavg()]
            print(json.dumps(result["placement"], indent=1), flush=True)
        if not args.skip_lexical:
            result["lexical"] = bench_lexical(url, args.moments, args.queries)
            print(json.dumps(result["lexical"], indent=1), flush=True)
        result["load_average_after"] = os.getloadavg()
        from cogvlm_media.store.engine import dispose_all

        dispose_all()
    args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()

"""Search benchmark: a synthetic archive of N indexed moments (default 1.5 M, about 10,000 hours at one
moment per 24 s) built through the bulk path, then query latency, build time, size and ANN recall.

Synthetic data:
- Text: 18-word captions drawn from a vision-model-like vocabulary (subject, action, object, place,
  camera words), indexed by tantivy exactly as the archive's documents are.
- Vectors: MiniLM is far too slow to embed 1.5 M captions on 2 cores, so ``--bases`` real captions
  are embedded with MiniLM and each moment's vector is a normalised mix of two of them plus Gaussian
  noise: ``normalise(e[p] + w * e[q] + noise)``, w ~ U(0, 0.5), noise sd ``--noise`` per dimension.
  This keeps MiniLM's anisotropic, clustered geometry (uniform random vectors would make HNSW look
  better or worse than it is) while every moment stays distinct.
- Queries are real sentences embedded with MiniLM at query time; the latency includes that.

Run: ``python bench/search.py [--moments 1500000] [--queries 200]``; limit to 2 cores with
``taskset -c 0,1``. Results go to bench/results/search-<moments>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("MKL_NUM_THREADS", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cogvlm_media.search import vector as vec  # noqa: E402
from cogvlm_media.search.documents import KIND_CODES, MARKER, Document, make_key  # noqa: E402
from cogvlm_media.search.hybrid import fuse  # noqa: E402
from cogvlm_media.search.lexical import LexicalIndex  # noqa: E402

SUBJECTS = "man woman child speaker presenter crowd dog chef worker driver couple officer player singer nurse farmer".split()
VERBS = ("stands walks runs sits rises talks points laughs waves opens closes carries drives cooks reads writes "
         "jumps falls looks turns holds throws catches pours cuts paints").split()
OBJECTS = ("chair table door car bicycle ball guitar book phone laptop cup window bag box camera microphone "
           "umbrella flag hat ladder").split()
PLACES = ("kitchen street office stage beach park garage studio classroom market forest bridge station "
          "hallway stadium garden rooftop warehouse").split()
ADJ = "red blue old young small large bright dark wooden crowded quiet busy wet sunny".split()
CAMERA = "close-up wide shot slow pan tracking handheld static overhead low angle zoom".split()
FILLER = "the a in on at with near while and then of to from".split()

QUERIES = ["car", "the speaker", "when does the speaker stand up", "someone gets up from a chair",
           "a dog runs in the park", "chef cooking in a kitchen", "crowd on a bridge", "woman reads a book",
           "man opens the door", "people laughing at a table", "a red car in the street", "singer on stage",
           "child throws a ball", "rain on the window", "driver gets out of the car", "close-up of a phone",
           "nurse walks down the hallway", "worker carries boxes in a warehouse", "a couple walks on the beach",
           "officer points at the camera"]


def caption(rng: random.Random) -> str:
    words = [rng.choice(ADJ), rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(FILLER), rng.choice(ADJ),
             rng.choice(OBJECTS), rng.choice(FILLER), rng.choice(PLACES), rng.choice(CAMERA)]
    while len(words) < 18:
        words.append(rng.choice(FILLER + VERBS + OBJECTS + PLACES + ADJ))
    return " ".join(words)


def base_vectors(count: int, seed: int) -> tuple[list[str], np.ndarray, float]:
    from cogvlm_media.search.sentence_vectors import get_embedder

    rng = random.Random(seed)
    texts = [caption(rng) for _ in range(count)]
    embedder = get_embedder()
    started = time.perf_counter()
    vectors = embedder.encode(texts, batch_size=128)
    return texts, vectors, time.perf_counter() - started


def synth_vectors(bases: np.ndarray, n: int, noise: float, seed: int, out: np.ndarray, chunk: int = 100_000) -> None:
    rng = np.random.default_rng(seed)
    for i in range(0, n, chunk):
        m = min(chunk, n - i)
        p = rng.integers(0, len(bases), m)
        q = rng.integers(0, len(bases), m)
        w = rng.uniform(0.0, 0.5, (m, 1)).astype(np.float32)
        v = bases[p] + w * bases[q] + rng.normal(0.0, noise, (m, bases.shape[1])).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        out[i:i + m] = v.astype(np.float16)


def pct(values: list[float], p: float) -> float:
    return round(float(np.percentile(np.asarray(values) * 1000.0, p)), 2)


def summary(values: list[float]) -> dict:
    return {"p50_ms": pct(values, 50), "p95_ms": pct(values, 95), "mean_ms": round(float(np.mean(values)) * 1000, 2)}


def du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


BUILD_KEYS = ("moments", "minilm_embed_per_s", "lexical_build_s", "lexical_bytes", "vector_build_s",
              "vector_build_per_s", "vector_bytes")


def build(args, work: Path, n: int, keys: np.ndarray, texts: list[str], per_asset: int, result: dict):
    """The corpus vectors, the tantivy index and one vector generation under ``work``; build figures go to
    ``result``."""
    _base_texts, bases, t_embed = base_vectors(args.bases, 1)
    result["minilm_embed_per_s"] = round(args.bases / t_embed, 1)
    print(f"embedded {args.bases} base captions in {t_embed:.1f} s", flush=True)

    vectors = np.lib.format.open_memmap(work / "corpus.npy", mode="w+", dtype=np.float16, shape=(n, vec.DIM))
    synth_vectors(bases, n, args.noise, 2, vectors)
    kinds_cycle = [KIND_CODES["caption"], KIND_CODES["transcript"], KIND_CODES["moment"], KIND_CODES["scene"]]
    assets = np.arange(n, dtype=np.int64) // per_asset + 1
    kinds = np.array([kinds_cycle[i % 4] for i in range(n)], np.uint8)

    # lexical (tantivy), through the same add path as the archive indexer
    started = time.perf_counter()
    lexical = LexicalIndex(work / "lexical", create=True)
    with lexical.writer(threads=2) as writer:
        LexicalIndex.add(writer, (Document(int(keys[i]), int(assets[i]), "caption", i * 24.0, i * 24.0 + 24.0,
                                           texts[i]) for i in range(n)))
        writer.commit()
        writer.wait_merging_threads()
    lexical.index.reload()
    result["lexical_build_s"] = round(time.perf_counter() - started, 1)
    result["lexical_bytes"] = du(work / "lexical")
    print(f"lexical: {result['lexical_build_s']} s, {result['lexical_bytes'] / 1e6:.0f} MB", flush=True)

    # vectors: one generation, as the indexer writes it (the HNSW graph above EXACT_LIMIT)
    started = time.perf_counter()
    data = vec.VectorSet(keys, assets, kinds, np.zeros(n, np.uint64), vectors)
    vec.write_generation(work / "vectors-000001", data)
    result["vector_build_s"] = round(time.perf_counter() - started, 1)
    result["vector_build_per_s"] = round(n / max(result["vector_build_s"], 0.1), 1)
    result["vector_bytes"] = du(work / "vectors-000001")
    print(f"vectors: {result['vector_build_s']} s, {result['vector_bytes'] / 1e6:.0f} MB", flush=True)
    del data

    return vectors, lexical


class _Backend:
    """The search backend interface over the benchmark's own indexes (what LocalBackend opens)."""

    name = "bench"

    def __init__(self, lexical, index) -> None:
        self._lexical, self._index = lexical, index

    def lexical(self, text, limit, filters):
        return self._lexical.search(text, limit)

    def semantic(self, vector, limit, filters):
        return self._index.search(vector, limit)


def whole_searches(kinds: list[str], work: Path, texts: list[str], per_asset: int, lexical, index, embedder,
                   queries: list[str]) -> dict:
    """p50/p95 of ``search.query.search`` (hybrid, top 10: query embedding, both indexes, fusion, the
    candidates' rows, ranking, assets and paths) with the archive in each database of ``kinds``."""
    from contextlib import ExitStack

    import archive_fill
    from cogvlm_media.search.query import search
    from cogvlm_media.store.engine import dispose_all, get_engine

    out: dict = {}
    backend = _Backend(lexical, index)
    with ExitStack() as stack:
        for kind in kinds:
            if kind == "postgresql":
                sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
                from pgserver import postgres_server

                url = stack.enter_context(postgres_server()).url()
            else:
                (work / "archive.db").unlink(missing_ok=True)
                url = f"sqlite:///{work / 'archive.db'}"
            engine = get_engine(url)
            started = time.perf_counter()
            archive_fill.fill(engine, texts, per_asset)
            load_s = time.perf_counter() - started
            for q in QUERIES[:5]:  # warm up (connections, caches)
                search(backend, engine, q, 10, embedder=embedder)
            times, indexes_only, empty = [], [], 0
            for q in queries:  # each query twice, back to back: the whole search, and its index part alone
                t0 = time.perf_counter()
                found = search(backend, engine, q, 10, embedder=embedder)
                t1 = time.perf_counter()
                fuse(lexical.search(q, 50), index.search(embedder.encode_query(q), 50))
                t2 = time.perf_counter()
                times.append(t1 - t0)
                indexes_only.append(t2 - t1)
                empty += not found.hits
            out[kind] = {"load_s": round(load_s, 1), "queries": len(queries), "no_hits": empty, **summary(times),
                         "indexes_only": summary(indexes_only),
                         "database_and_ranking": summary([a - b for a, b in zip(times, indexes_only)]),
                         "load_average": os.getloadavg()}
            dispose_all()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--moments", type=int, default=1_500_000)
    ap.add_argument("--bases", type=int, default=3000)
    ap.add_argument("--noise", type=float, default=0.02)
    ap.add_argument("--queries", type=int, default=200, help="timed queries (the query list, repeated)")
    ap.add_argument("--recall-queries", type=int, default=100)
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--reuse", action="store_true", help="with --workdir: use the indexes an earlier run built there "
                    "(build now, time the queries later on a quiet machine)")
    ap.add_argument("--placement", nargs="*", default=[], choices=["sqlite", "postgresql"],
                    help="also time whole searches (search.query.search: fuse, place in the database, rank) "
                         "against an archive of these moments in SQLite and/or PostgreSQL")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(2)
    n = args.moments
    work = args.workdir or Path(tempfile.mkdtemp(prefix="search-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    result: dict = {"moments": n, "cores": os.cpu_count(), "hnsw": vec.HNSW, "exact_limit": vec.EXACT_LIMIT,
                    "bases": args.bases, "noise": args.noise}
    print(f"workdir {work}", flush=True)

    per_asset = 150  # one hour of footage at one moment per 24 s
    keys = np.array([make_key(MARKER, i + 1) for i in range(n)], np.int64)  # marker i + 1 (see --placement)
    rng = random.Random(3)
    texts = [caption(rng) for _ in range(n)]
    built = work / "built.json"
    if args.reuse and built.exists() and json.loads(built.read_text()).get("moments") == n:
        result.update(json.loads(built.read_text()))  # the build figures of the run that built these indexes
        vectors = np.load(work / "corpus.npy", mmap_mode="r")
        lexical = LexicalIndex(work / "lexical")
        print("reusing the indexes built earlier in", work, flush=True)
    else:
        vectors, lexical = build(args, work, n, keys, texts, per_asset, result)
        built.write_text(json.dumps({k: result[k] for k in BUILD_KEYS}))
    index = vec.VectorIndex(work / "vectors-000001")
    result["vector_mode"] = index.mode
    from cogvlm_media.search.sentence_vectors import get_embedder

    embedder = get_embedder()
    queries = [QUERIES[i % len(QUERIES)] for i in range(args.queries)]
    for q in QUERIES[:5]:  # warm up
        index.search(embedder.encode_query(q), 10)
        lexical.search(q, 10)
    t_lex, t_sem, t_hyb, t_emb, t_ann = [], [], [], [], []
    result["load_average_before_queries"] = os.getloadavg()
    for q in queries:
        t0 = time.perf_counter()
        lexical.search(q, 50)
        t_lex.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        qv = embedder.encode_query(q)
        t_emb.append(time.perf_counter() - t0)
        t1 = time.perf_counter()
        index.search(qv, 50)
        t_ann.append(time.perf_counter() - t1)
        t_sem.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        qv = embedder.encode_query(q)
        fuse(lexical.search(q, 50), index.search(qv, 50))[:10]
        t_hyb.append(time.perf_counter() - t0)
    result["latency"] = {"lexical": summary(t_lex), "query_embedding": summary(t_emb),
                         "vector_search_only": summary(t_ann),
                         "semantic_incl_embedding": summary(t_sem), "hybrid_incl_embedding": summary(t_hyb),
                         "queries": len(queries), "depth": 50}
    if args.placement:
        result["whole_search"] = whole_searches(args.placement, work, texts, per_asset, lexical, index, embedder,
                                                queries)
        print(json.dumps(result["whole_search"], indent=1), flush=True)
    per_word = {}
    for q in ("car", "the speaker", "red car street", "driver gets out of the car"):
        times = []
        for _ in range(20):
            t0 = time.perf_counter()
            lexical.search(q, 10)
            times.append(time.perf_counter() - t0)
        per_word[q] = summary(times)
    result["latency"]["lexical_top10_by_query"] = per_word
    print(json.dumps(result["latency"], indent=1), flush=True)

    # recall@10 of the graph against exact search (real query embeddings and held-out corpus points)
    qrng = np.random.default_rng(5)
    qvecs = [embedder.encode_query(q) for q in QUERIES]
    picks = qrng.integers(0, n, max(0, args.recall_queries - len(qvecs)))
    qvecs += [np.asarray(vectors[i], np.float32) + qrng.normal(0, 0.02, vec.DIM).astype(np.float32) for i in picks]
    qmat = np.stack([q / np.linalg.norm(q) for q in qvecs]).astype(np.float32)
    best = np.full((len(qmat), 10), -np.inf, np.float32)
    best_rows = np.zeros((len(qmat), 10), np.int64)
    t0 = time.perf_counter()
    for i in range(0, n, 100_000):
        block = np.asarray(vectors[i:i + 100_000], np.float32)
        scores = qmat @ block.T
        allv = np.concatenate([best, scores], axis=1)
        allr = np.concatenate([best_rows, np.arange(i, i + len(block))[None, :].repeat(len(qmat), 0)], axis=1)
        top = np.argpartition(-allv, 10, axis=1)[:, :10]
        best = np.take_along_axis(allv, top, 1)
        best_rows = np.take_along_axis(allr, top, 1)
    exact_s = (time.perf_counter() - t0) / len(qmat)
    hits = 0
    for qi in range(len(qmat)):
        truth = set(keys[best_rows[qi]].tolist())
        got = {k for k, _s in index.search(qmat[qi], 10)}
        hits += len(truth & got)
    result["recall_at_10"] = round(hits / (10 * len(qmat)), 4)
    result["exact_fp32_per_query_ms"] = round(exact_s * 1000, 1)
    # the exact path at the EXACT_LIMIT size (what small archives use)
    small = np.asarray(vectors[: min(n, vec.EXACT_LIMIT)], np.float32)
    times = []
    for q in qmat[:50]:
        t0 = time.perf_counter()
        s = small @ q
        np.argpartition(-s, 10)[:10]
        times.append(time.perf_counter() - t0)
    result["exact_at_limit"] = {"vectors": len(small), **summary(times)}
    result["load_average_after"] = os.getloadavg()
    result["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps({k: result[k] for k in ("recall_at_10", "exact_fp32_per_query_ms", "exact_at_limit",
                                             "max_rss_mb")}, indent=1), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"search-{n}.json"
    path.write_text(json.dumps(result, indent=2))
    print(f"wrote {path}")
    if not args.keep and args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

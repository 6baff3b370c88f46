"""Lexical search with tantivy: BM25 over English-stemmed words ("rises" finds "rising").

Each document is stored with its key, asset, kind and a digest of its text (fast fields) so that
filters run inside tantivy and the consistency check can compare the index with the database
without reading stored text.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import tantivy

from cogvlm_media.search.documents import Document

TOKENIZER = "en_stem"  # tantivy's simple tokenizer + remove_long(40) + lowercase + English stemmer
HEAP = 64_000_000


def analyzer() -> tantivy.TextAnalyzer:
    """The same analysis as the ``en_stem`` tokenizer, for query words and transcript word times."""
    return (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple()).filter(tantivy.Filter.remove_long(40))
            .filter(tantivy.Filter.lowercase()).filter(tantivy.Filter.stemmer("english")).build())


_ANALYZER = analyzer()
_QUERY_ANALYZER = (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple()).filter(tantivy.Filter.remove_long(40))
                   .filter(tantivy.Filter.lowercase()).filter(tantivy.Filter.stopword("english"))
                   .filter(tantivy.Filter.stemmer("english")).build())


def terms(text: str) -> list[str]:
    return list(dict.fromkeys(_ANALYZER.analyze(text)))


def query_terms(text: str) -> list[str]:
    """Stemmed query words without English stop words ("a", "on", "the"), unless that leaves none."""
    return list(dict.fromkeys(_QUERY_ANALYZER.analyze(text))) or terms(text)


def schema() -> tantivy.Schema:
    b = tantivy.SchemaBuilder()
    b.add_unsigned_field("key", stored=True, indexed=True, fast=True)
    b.add_unsigned_field("asset", indexed=True, fast=True)
    b.add_text_field("kind", stored=False, tokenizer_name="raw")
    b.add_unsigned_field("verified", fast=True)
    b.add_unsigned_field("digest", fast=True)
    b.add_text_field("text", stored=False, tokenizer_name=TOKENIZER)
    return b.build()


class LexicalIndex:
    def __init__(self, path: Path, create: bool = False) -> None:
        self.path = Path(path)
        if create:
            self.path.mkdir(parents=True, exist_ok=True)
        self.schema = schema()
        self.index = tantivy.Index(self.schema, path=str(self.path), reuse=True)

    @staticmethod
    def exists(path: Path) -> bool:
        return (Path(path) / "meta.json").exists()

    # -- writing (one writer at a time: the caller holds the index lock) --

    def writer(self, threads: int = 1):
        return self.index.writer(heap_size=HEAP, num_threads=threads)

    @staticmethod
    def add(writer, docs: Iterable[Document]) -> int:
        n = 0
        for d in docs:
            doc = tantivy.Document()
            doc.add_unsigned("key", d.key)
            doc.add_unsigned("asset", d.asset_id)
            doc.add_text("kind", d.kind)
            doc.add_unsigned("verified", int(d.verified))
            doc.add_unsigned("digest", d.digest)
            doc.add_text("text", d.text)
            writer.add_document(doc)
            n += 1
        return n

    def delete_assets(self, writer, asset_ids: Iterable[int]) -> None:
        ids = [int(a) for a in asset_ids]
        for i in range(0, len(ids), 1000):
            writer.delete_documents_by_query(tantivy.Query.term_set_query(self.schema, "asset", ids[i:i + 1000]))

    def replace_assets(self, docs_by_asset: dict[int, list[Document]]) -> None:
        with self.writer() as writer:
            self.delete_assets(writer, docs_by_asset)
            for docs in docs_by_asset.values():
                self.add(writer, docs)
            writer.commit()
            writer.wait_merging_threads()
        self.index.reload()

    # -- reading (never blocks: a searcher sees the last commit) --

    def _filtered(self, query: tantivy.Query, asset_ids: Sequence[int] | None,
                  kinds: Sequence[str] | None) -> tantivy.Query:
        parts = [(tantivy.Occur.Must, query)]
        if asset_ids:
            parts.append((tantivy.Occur.Must, tantivy.Query.term_set_query(self.schema, "asset", list(asset_ids))))
        if kinds:
            parts.append((tantivy.Occur.Must, tantivy.Query.term_set_query(self.schema, "kind", list(kinds))))
        return parts[0][1] if len(parts) == 1 else tantivy.Query.boolean_query(parts)

    def search(self, text: str, limit: int, asset_ids: Sequence[int] | None = None,
               kinds: Sequence[str] | None = None) -> list[tuple[int, float]]:
        """(key, coverage) in BM25 order. Query words are OR-ed, as an editor types a phrase.

        Coverage is the BM25 score over the score of a typical-length document holding every query
        word once (the sum of the words' IDFs), capped at 1: how much of the query a hit matches,
        weighted by how rare each word is. Fusion uses it so that a hit on one common word counts
        for little."""
        words = query_terms(text)
        if not words:
            return []
        query = tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, tantivy.Query.term_query(self.schema, "text", w)) for w in words])
        searcher = self.index.searcher()
        result = searcher.search(self._filtered(query, asset_ids, kinds), limit)
        if not result.hits:
            return []
        n = max(searcher.num_docs, 1)
        ideal = 0.0
        for w in words:
            df = searcher.doc_freq("text", w)
            ideal += math.log(1.0 + (n - df + 0.5) / (df + 0.5))
        keys = searcher.fast_field_values("key", [addr for _score, addr in result.hits])
        return [(int(k), min(1.0, float(s) / ideal) if ideal > 0 else 0.0) for (s, _addr), k in zip(result.hits, keys)]

    def num_docs(self) -> int:
        return self.index.searcher().num_docs

    def contents(self, asset_ids: Sequence[int] | None = None) -> dict[int, tuple[int, int]]:
        """key -> (asset id, text digest) for every indexed document (of the given assets)."""
        searcher = self.index.searcher()
        query = tantivy.Query.all_query()
        if asset_ids is not None:
            query = tantivy.Query.term_set_query(self.schema, "asset", list(asset_ids))
        count = searcher.search(query, 1, count=True).count
        if not count:
            return {}
        addrs = [addr for _s, addr in searcher.search(query, count).hits]
        keys = searcher.fast_field_values("key", addrs)
        assets = searcher.fast_field_values("asset", addrs)
        digests = searcher.fast_field_values("digest", addrs)
        return {int(k): (int(a), int(d)) for k, a, d in zip(keys, assets, digests)}

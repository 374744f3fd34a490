"""The one-call API (genforge.ask / genforge.search), RetrievalConfig, and the two extension points:
a new retriever and a new vector index are one class plus one registration."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
from tests.rag.rag_testdata import make_corpus

import genforge
from genforge.cli.main import main
from genforge.core.errors import ConfigError
from genforge.embed.sentence import SentenceEmbedding
from genforge.rag.config import RetrievalConfig, StoreConfig
from genforge.rag.retrievers import RETRIEVERS, Ranking, Retriever
from genforge.rag.store import Store
from genforge.rag.vector_index import VECTOR_INDEXES, VectorIndex


@pytest.fixture(scope="module")
def embedding():
    return SentenceEmbedding()


@pytest.fixture(scope="module")
def built(tmp_path_factory, embedding):
    root = make_corpus(tmp_path_factory.mktemp("corpus"))
    store = Store(tmp_path_factory.mktemp("store") / "s", embedding=embedding)
    store.index(root)
    return root, store


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"retriver": "dense"}, "unknown retrieval key 'retriver'; did you mean 'retriever'?"),
        ({"retriever": "hybird"}, "unknown retriever 'hybird' (available: bm25, dense, hybrid); did you mean 'hybrid'?"),
        ({"fusion": "documents"}, "unknown fusion 'documents' (available: document, chunk); did you mean 'document'?"),
        ({"k": 0}, "bad value for retrieval key 'k'"),
    ],
)  # fmt: skip
def test_retrieval_config_refuses_unknown_keys_and_names_in_one_line(values, message):
    with pytest.raises(ConfigError) as info:
        RetrievalConfig.build(values, where="retrieval") if "k" in values else RetrievalConfig(**values)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def test_store_config_refuses_an_unknown_vector_index_with_a_suggestion():
    with pytest.raises(ConfigError, match="unknown vector index 'segment' .*did you mean 'segments'"):
        StoreConfig(backend="segment")


def test_genforge_search_and_ask_are_the_calls_the_cli_makes(built, capsys):
    _, store = built
    config = RetrievalConfig(retriever="dense", k=3)
    hits = genforge.search("How many pallets did the warehouse ship?", store=store, retrieval=config)
    assert [h.rank for h in hits] == [1, 2, 3] and hits[0].source == "report.pdf"
    assert hits[0].score_kind == "cosine"
    assert [
        h.chunk_id for h in genforge.search("pallets shipped", store=str(store.path), retriever="bm25", k=2)
    ] == [h.chunk_id for h in store.search("pallets shipped", k=2, retriever="bm25")]
    answer = genforge.ask(
        "How do I resume training from a checkpoint?", store=store, rails=False, retrieval=config
    )
    assert answer.found and answer.citations[0].source == "training.md" and answer.guard == {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["rag", "ask", "How do I resume training from a checkpoint?", "--store", str(store.path),
                     "--no-guard", "--mode", "dense", "--k", "3", "--json"])  # fmt: skip
    assert code == 0
    cli = json.loads(out.getvalue())
    assert cli["answer"] == answer.answer and [c["chunk_id"] for c in cli["citations"]] == [
        c.chunk_id for c in answer.citations
    ]


def test_bad_retrieval_flags_are_one_line_with_a_suggestion_and_leave_the_store_untouched(built, capsys):
    _, store = built
    before = (store.path / "store.sqlite").read_bytes()
    for flags, expected in (
        (["--mode", "hybird"], "did you mean 'hybrid'"),
        (["--fusion", "chunks"], "did you mean 'chunk'"),
    ):
        assert main(["rag", "search", "water", "--store", str(store.path), *flags]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: unknown") and expected in err and err.count("\n") == 1
    assert (store.path / "store.sqlite").read_bytes() == before


class _Shortest(Retriever):
    """A throwaway retriever: chunks ordered by text length (proves a retriever is one class + one line)."""

    def rank(self, store, query, config):
        texts = {cid: len(text) for cid, _, text in store.catalog.chunk_texts()}
        order = dict(sorted(texts.items(), key=lambda kv: (kv[1], kv[0]))[: config.pool])
        return Ranking({cid: float(n) for cid, n in order.items()}, "length", {"length": order})


def test_a_new_retriever_is_one_class_and_one_registration(built):
    _, store = built
    RETRIEVERS.register("shortest")(_Shortest)
    try:
        hits = store.search("anything", k=2, retriever="shortest")
        assert [h.score_kind for h in hits] == ["length", "length"] and hits[0].score <= hits[1].score
    finally:
        RETRIEVERS.unregister("shortest")


class _MemoryIndex(VectorIndex):
    """A throwaway vector index in a dict (proves the store needs only the four interface methods)."""

    def __init__(self, context):
        super().__init__(context)
        self.vectors: dict[str, np.ndarray] = {}

    def upsert(self, keys, vectors):
        self.vectors.update(zip(keys, np.asarray(vectors, dtype=np.float32), strict=True))

    def fetch(self, keys):
        return {k: self.vectors[k] for k in keys if k in self.vectors}

    def delete(self, keys):
        for key in keys:
            self.vectors.pop(key, None)

    def search(self, vector, k):
        keys = sorted(self.vectors)
        scores = np.stack([self.vectors[key] for key in keys]) @ vector
        order = np.argsort(-scores, kind="stable")[:k]
        return [keys[i] for i in order], scores[order]


def test_a_new_vector_index_is_one_class_and_one_registration_and_ranks_like_segments(
    built, tmp_path, embedding
):
    root, segments_store = built
    VECTOR_INDEXES.register("memory")(_MemoryIndex)
    try:
        store = Store(tmp_path / "m", StoreConfig(backend="memory"), embedding=embedding)
        store.index(root)
        for query in ("tomato sunlight", "sourdough starter feeding", "warehouse pallets"):
            expected = [h.chunk_id for h in segments_store.search(query, k=3, retriever="dense")]
            assert [h.chunk_id for h in store.search(query, k=3, retriever="dense")] == expected
        assert store.stats()["settings"]["backend"] == "memory"
    finally:
        VECTOR_INDEXES.unregister("memory")

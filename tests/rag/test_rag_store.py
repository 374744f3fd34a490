"""The SQLite + vector-segment store: incremental, atomic, locked, and searchable three ways."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from rag_testdata import make_corpus

from genforge.core.errors import ConfigError, DataError
from genforge.embed.sentence import SentenceEmbedding
from genforge.rag.bm25 import BM25Index
from genforge.rag.store import Store, StoreConfig, StoreLocked
from genforge.rag.vectors import mmr, top_k


@pytest.fixture(scope="module")
def embedding() -> SentenceEmbedding:
    return SentenceEmbedding()


@pytest.fixture(scope="module")
def built(tmp_path_factory, embedding):
    root = make_corpus(tmp_path_factory.mktemp("corpus"))
    store = Store(tmp_path_factory.mktemp("store") / "s", embedding=embedding)
    report = store.index(root)
    return root, store, report


def _consistent(store: Store) -> None:
    """Every document has exactly its chunks, and every chunk's text has a vector row inside its segment."""
    db = sqlite3.connect(store.path / "store.sqlite")
    for doc_id, num_chunks in db.execute("SELECT doc_id, num_chunks FROM documents"):
        assert db.execute("SELECT COUNT(*) FROM chunks WHERE doc_id=?", (doc_id,)).fetchone()[0] == num_chunks
    sizes = {seg: rows for seg, rows in db.execute("SELECT segment, rows FROM segments")}
    query = "SELECT r.segment, r.row FROM chunks c LEFT JOIN segment_rows r ON r.key = c.text_hash"
    for segment, row in db.execute(query):
        assert segment in sizes and 0 <= row < sizes[segment]
    for file, rows in db.execute("SELECT file, rows FROM segments"):
        assert (store.path / "vectors" / file).stat().st_size == rows * 384 * 4


def test_index_reads_every_supported_type_and_skips_unreadable_files_with_reasons(built):
    _, store, report = built
    assert sorted(report.added) == [
        "guide/garden.html",
        "notes.txt",
        "report.pdf",
        "sampling.rst",
        "training.md",
    ]
    assert {s["source"] for s in report.skipped} == {"image.txt", "latin1.md"}
    assert report.chunks_embedded == report.chunks_added > 0
    _consistent(store)


def test_search_results_carry_relative_source_and_exact_offsets(built):
    root, store, _ = built
    hits = store.search("how do I resume training from a checkpoint?", k=3)
    assert hits[0].source == "training.md"
    assert hits[0].headings == ["Training", "Resuming a run"]
    original = (root / "training.md").read_text()
    assert original[hits[0].start : hits[0].end] == hits[0].text
    assert [h.rank for h in hits] == [1, 2, 3]


def test_each_mode_finds_the_obvious_page(built):
    _, store, _ = built
    for mode in ("hybrid", "dense", "bm25"):
        assert (
            store.search("How many pallets did the Rotterdam warehouse ship?", k=1, retriever=mode)[0].source
            == "report.pdf"
        )


def test_dense_search_equals_brute_force_cosine(built, embedding):
    _, store, _ = built
    db = sqlite3.connect(store.path / "store.sqlite")
    cids = [r[0] for r in db.execute("SELECT cid FROM chunks ORDER BY cid")]
    matrix = store.vectors_of(cids)
    query = embedding.embed_texts(["watering tomatoes"])[0]
    brute = np.argsort(-(matrix @ query), kind="stable")[:4]
    ids, scores = store.dense_search(query, 4)
    assert ids.tolist() == [cids[i] for i in brute]
    np.testing.assert_allclose(scores, (matrix @ query)[brute], rtol=1e-5)


def _rankings(store: Store, query: str, depth: int) -> tuple[list[str], list[str]]:
    dense = [h.chunk_id for h in store.search(query, k=depth, retriever="dense", candidates=depth)]
    bm25 = [h.chunk_id for h in store.search(query, k=depth, retriever="bm25", candidates=depth)]
    return dense, bm25


def test_chunk_fusion_score_is_weighted_rrf_of_both_rankings(built):
    _, store, _ = built
    query = "sourdough starter flour water"
    dense, bm25 = _rankings(store, query, 10)
    hits = store.search(query, k=3, candidates=10, fusion="chunk", bm25_weight=0.5)
    for hit in hits:
        expected = sum(
            w / (60 + r.index(hit.chunk_id) + 1) for r, w in ((dense, 1.0), (bm25, 0.5)) if hit.chunk_id in r
        )
        assert hit.score == pytest.approx(expected)
        assert hit.score_kind == "rrf"
    unweighted = store.search(query, k=1, candidates=10, fusion="chunk", bm25_weight=1.0)[0]
    assert unweighted.score == pytest.approx(
        sum(1 / (60 + r.index(unweighted.chunk_id) + 1) for r in (dense, bm25) if unweighted.chunk_id in r)
    )


def test_document_fusion_ranks_documents_where_their_first_chunk_ranks(built):
    _, store, _ = built
    query = "how often should I water the plants and keep the starter fed"
    dense, bm25 = _rankings(store, query, 10)
    source = {h.chunk_id: h.source for h in store.search(query, k=20, retriever="dense", candidates=20)}
    source |= {h.chunk_id: h.source for h in store.search(query, k=20, retriever="bm25", candidates=20)}
    doc_score: dict[str, float] = {}
    for ranking, weight in ((dense, 1.0), (bm25, 0.5)):
        pages = list(dict.fromkeys(source[c] for c in ranking))
        for rank, page in enumerate(pages, start=1):
            doc_score[page] = doc_score.get(page, 0.0) + weight / (60 + rank)
    hits = store.search(query, k=10, candidates=10)  # defaults: document fusion, BM25 weight 0.5
    assert {h.score_kind for h in hits} == {"rrf_document"}
    for hit in hits:
        assert hit.score == pytest.approx(doc_score[hit.source])
        assert hit.scores["rrf_document"] == pytest.approx(hit.score) and "rrf" in hit.scores
    best_first = sorted(doc_score, key=lambda p: -doc_score[p])
    assert [h.source for h in hits[: len(best_first)]] == best_first  # one chunk of every document first
    rounds = [[h.source for h in hits[:i]].count(h.source) for i, h in enumerate(hits)]
    assert rounds == sorted(rounds) and max(rounds) > 0  # then each document's second chunk, third, ...
    for r in set(rounds):
        in_round = [h.source for h, n in zip(hits, rounds, strict=True) if n == r]
        assert in_round == sorted(in_round, key=best_first.index)


def test_bad_fusion_settings_are_config_errors(built):
    _, store, _ = built
    with pytest.raises(ConfigError, match="unknown fusion"):
        store.search("water", fusion="page")
    with pytest.raises(ConfigError, match="bm25_weight"):
        store.search("water", bm25_weight=-1)


def test_mmr_skips_a_near_duplicate_of_an_already_chosen_item():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(3, 16))
    candidates = np.stack([base[0], base[0] + 1e-3, base[1], base[2]])
    candidates /= np.linalg.norm(candidates, axis=1, keepdims=True)
    query = candidates[0] + 0.5 * candidates[2]
    query /= np.linalg.norm(query)
    order = mmr(query, candidates, k=2, lambda_=0.5)
    assert order[0] in (0, 1) and set(order) != {0, 1}


def test_top_k_returns_best_first():
    assert top_k(np.array([0.1, 0.9, 0.5, 0.9]), 3).tolist() == [1, 3, 2]


def test_reindex_of_unchanged_folder_reads_and_embeds_nothing(built):
    root, store, _ = built
    generation = store.generation()
    report = store.index(root)
    assert report.unchanged == 5 and not report.added and not report.updated and report.chunks_embedded == 0
    assert store.generation() == generation


def test_changed_file_is_reindexed_and_its_unchanged_chunks_reuse_vectors(tmp_path, embedding):
    root = make_corpus(tmp_path / "c")
    store = Store(tmp_path / "s", embedding=embedding)
    store.index(root)
    with open(root / "training.md", "a", encoding="utf-8") as f:
        f.write(
            "\n## Mixed precision\n\nBfloat16 autocast halves activation memory on CPUs that support it.\n"
        )
    report = store.index(root)
    assert report.updated == ["training.md"] and report.unchanged == 4
    assert report.chunks_embedded == 1 and report.chunks_reused >= 1
    assert store.search("bfloat16 activation memory", k=1)[0].headings[-1] == "Mixed precision"
    _consistent(store)


def test_deleted_files_are_dropped_and_renamed_files_reuse_vectors(tmp_path, embedding):
    root = make_corpus(tmp_path / "c")
    store = Store(tmp_path / "s", embedding=embedding)
    store.index(root)
    (root / "notes.txt").unlink()
    (root / "sampling.rst").rename(root / "sampling2.rst")
    report = store.index(root)
    assert report.removed == ["notes.txt", "sampling.rst"] and report.added == ["sampling2.rst"]
    assert report.chunks_embedded == 0 and report.chunks_reused > 0
    assert all(h.source != "notes.txt" for h in store.search("sourdough starter", k=10))
    _consistent(store)


def test_touching_a_file_without_changing_it_does_not_reindex_it(tmp_path, embedding):
    root = make_corpus(tmp_path / "c")
    store = Store(tmp_path / "s", embedding=embedding)
    store.index(root)
    (root / "notes.txt").write_text((root / "notes.txt").read_text())
    report = store.index(root)
    assert report.unchanged == 5 and report.chunks_added == 0


class _InterruptAfter:
    """Wraps the real model and raises KeyboardInterrupt on its n-th call (a Ctrl-C mid-index)."""

    kind, dim = "sentence", 384

    def __init__(self, real: SentenceEmbedding, calls: int) -> None:
        self.real, self.calls = real, calls

    def embed_texts(self, texts):
        self.calls -= 1
        if self.calls == 0:
            raise KeyboardInterrupt
        return self.real.embed_texts(texts)


def test_interrupted_index_leaves_whole_files_only_and_resumes(tmp_path, embedding):
    root = make_corpus(tmp_path / "c")
    config = StoreConfig(batch_chunks=1)
    with pytest.raises(KeyboardInterrupt):
        Store(tmp_path / "s", config, embedding=_InterruptAfter(embedding, 3)).index(root)
    store = Store(tmp_path / "s", embedding=embedding)
    db = sqlite3.connect(store.path / "store.sqlite")
    indexed = db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
    assert indexed == 2
    _consistent(store)
    assert len(store.search("garden tomatoes", k=3)) > 0  # BM25 is rebuilt in memory for the snapshot
    report = store.index(root)
    assert len(report.added) == 3 and report.unchanged == 2
    assert db.execute("SELECT COUNT(*) FROM documents").fetchone()[0] == 5
    _consistent(store)


def test_compaction_bounds_segments_and_keeps_search_exact(tmp_path, embedding):
    root = make_corpus(tmp_path / "c")
    store = Store(tmp_path / "s", StoreConfig(batch_chunks=1, compact_segments=2), embedding=embedding)
    store.index(root)
    db = sqlite3.connect(store.path / "store.sqlite")
    assert db.execute("SELECT COUNT(*) FROM segments").fetchone()[0] <= 2
    assert (
        len(list((store.path / "vectors").iterdir()))
        == db.execute("SELECT COUNT(*) FROM segments").fetchone()[0]
    )
    _consistent(store)
    assert store.search("sunlight tomatoes", k=1, retriever="dense")[0].source == "guide/garden.html"


def test_a_second_process_holding_the_write_lock_makes_index_wait_then_fail(tmp_path, embedding):
    root = make_corpus(tmp_path / "c")
    store_dir = tmp_path / "s"
    store_dir.mkdir()
    holder = textwrap.dedent(
        f"""
        import fcntl, os, sys, time
        fd = os.open({str(store_dir / "write.lock")!r}, os.O_RDWR | os.O_CREAT)
        fcntl.flock(fd, fcntl.LOCK_EX)
        print("locked", flush=True)
        time.sleep(30)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        started = time.monotonic()
        with pytest.raises(StoreLocked, match="another process"):
            Store(store_dir, StoreConfig(lock_timeout=0.5), embedding=embedding).index(root)
        assert time.monotonic() - started >= 0.5
    finally:
        proc.kill()
        proc.wait()
    assert Store(store_dir, embedding=embedding).index(root).added


def test_bm25_index_round_trips_through_save_and_load(tmp_path):
    texts = ["the cat sat on the mat", "dogs run in parks", "cats chase mice at night"]
    index = BM25Index().fit(texts, [7, 8, 9])
    index.save(tmp_path / "bm25")
    loaded = BM25Index.load(tmp_path / "bm25")
    for query in ("cat", "running dogs", "night mice"):
        ids, scores = index.search(query, 3)
        ids2, scores2 = loaded.search(query, 3)
        assert ids.tolist() == ids2.tolist()
        np.testing.assert_allclose(scores, scores2)
    assert index.search("cat", 3)[0].tolist() == [7, 9]  # stemming: "cats" matches "cat"
    assert len(index.search("zebra", 3)[0]) == 0


def test_stats_report_documents_chunks_and_settings(built):
    _, store, report = built
    stats = store.stats()
    assert stats["documents"] == 5 and stats["chunks"] == report.total_chunks
    assert stats["embedding"] == {"kind": "sentence", "dim": 384, "model": "all-MiniLM-L6-v2"}
    assert json.dumps(stats)


@pytest.mark.slow
def test_qdrant_local_backend_returns_the_same_dense_ranking(tmp_path, built, embedding):
    _, segments_store, _ = built
    root = make_corpus(tmp_path / "c")
    qstore = Store(tmp_path / "q", StoreConfig(backend="qdrant"), embedding=embedding)
    qstore.index(root)
    for query in ("watering tomato plants", "temperature of samples", "bake bread"):
        expected = [h.chunk_id for h in segments_store.search(query, k=3, retriever="dense")]
        got = qstore.search(query, k=3, retriever="dense")
        assert [h.chunk_id for h in got] == expected
    assert qstore.search("watering tomato plants", k=2, retriever="hybrid")[0].source == "guide/garden.html"
    (root / "notes.txt").unlink()
    qstore.index(root)
    assert all(h.source != "notes.txt" for h in qstore.search("sourdough", k=10, retriever="dense"))
    qstore.close()


def test_store_records_its_embedder_and_refuses_another_one_on_reopen(tmp_path, embedding):
    root = make_corpus(tmp_path / "c")
    store = Store(tmp_path / "s", embedding=embedding)
    store.index(root)
    assert store.stats()["settings"]["embedder"] == "minilm"
    store.close()
    with pytest.raises(ConfigError, match="embedded with 'minilm'"):
        Store(tmp_path / "s", StoreConfig(embedder="minilm-onnx")).stats()


def test_a_store_of_another_layout_version_is_one_line_naming_both_and_left_untouched(tmp_path, embedding):
    root = make_corpus(tmp_path / "c")
    Store(tmp_path / "s", embedding=embedding).index(root)
    db = sqlite3.connect(tmp_path / "s" / "store.sqlite")
    db.execute("DELETE FROM meta WHERE key='layout_version'")  # what a store written before layouts had
    db.commit()
    db.close()
    before = (tmp_path / "s" / "store.sqlite").read_bytes()
    for action in (lambda s: s.stats(), lambda s: s.search("tomatoes"), lambda s: s.index(root)):
        with pytest.raises(DataError, match=r"layout version 1, this genforge reads version 3: delete it"):
            action(Store(tmp_path / "s", embedding=embedding))
    assert (tmp_path / "s" / "store.sqlite").read_bytes() == before


@pytest.mark.slow
def test_onnx_embedder_store_reopens_with_onnx_and_ranks_like_the_torch_store(tmp_path, built, onnx_cache):
    from genforge.embed.sentence_onnx import OnnxSentenceEmbedding

    _, torch_store, _ = built
    root = make_corpus(tmp_path / "c")
    Store(tmp_path / "s", StoreConfig(embedder="minilm-onnx")).index(root)
    reopened = Store(tmp_path / "s")  # no config: the recorded embedder decides the query runtime
    assert isinstance(reopened.embedding, OnnxSentenceEmbedding)
    assert reopened.stats()["embedding"]["kind"] == "sentence-onnx"
    for query in ("watering tomato plants", "temperature of samples", "bake bread"):
        expected = [h.chunk_id for h in torch_store.search(query, k=3, retriever="dense")]
        assert [h.chunk_id for h in reopened.search(query, k=3, retriever="dense")] == expected


def test_page_prior_and_dense_feedback_rerank_the_same_candidates(built):
    _, store, _ = built
    query = "how much sun do tomatoes need"
    plain = store.search(query, 10, retriever="dense")
    fed = store.search(query, 10, retriever="dense", prf_chunks=2, prf_weight=0.5)
    assert {h.chunk_id for h in fed} <= {h.chunk_id for h in store.search(query, 100, retriever="dense")}
    vector = store.query_vector(query)
    expected = vector + 0.5 * store.vectors_of([store.dense_search(vector, 2)[0][i] for i in range(2)]).mean(
        0
    )
    expected /= np.linalg.norm(expected)
    cosines = {h.chunk_id: h.scores["dense"] for h in fed}
    best = store.dense_search(expected, 1)[0][0]
    assert fed[0].chunk_id == store.records([best])[best]["chunk_id"] and len(plain) == len(fed) == 10
    assert max(cosines.values()) == pytest.approx(float(store.vectors_of([best])[0] @ expected), abs=1e-5)
    prior = store.search(query, 10, page_prior=1.0)  # the same fused candidates, pages re-ordered
    assert len(prior) == 10 and {h.chunk_id for h in prior} <= {h.chunk_id for h in store.search(query, 100)}
    assert prior[0].score_kind == "rrf_document" and prior[0].score >= prior[-1].score

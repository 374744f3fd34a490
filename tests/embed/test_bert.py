"""genforge's BERT encoder gives sentence-transformers' vectors, token vectors and counts exactly."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from genforge.core.errors import CheckpointError
from genforge.embed.bert import BertSentenceEncoder, readable_folder
from genforge.embed.sentence import (
    SentenceEmbedding,
    SentenceTransformersEncoder,
    default_model_path,
    load_encoder,
    load_sentence_model,
)

TEXTS = [
    "",
    "a",
    "How do I resume training from a checkpoint?",
    "Ünïcödé naïve café — 漢字かな交じり 🙂🙂 \u200b zero-width",
    "x " * 700,  # past the 256-piece window: truncated the same way
    "def f(x):\n    return x ** 2  # code\r\n\ttabs",
    "[CLS] [SEP] [PAD] [MASK] literal special-token text",
    "antidisestablishmentarianism " * 3,
]


@pytest.fixture(scope="module")
def both():
    path = default_model_path()
    return BertSentenceEncoder.from_folder(path), SentenceTransformersEncoder(load_sentence_model(str(path)))


def test_the_packaged_minilm_is_read_by_genforges_encoder():
    assert isinstance(load_encoder(str(default_model_path())), BertSentenceEncoder)
    assert readable_folder(default_model_path())["normalize_module"] is True


@pytest.mark.parametrize("normalize", [True, False])
def test_sentence_vectors_equal_sentence_transformers_bit_for_bit(both, normalize):
    ours, theirs = both
    for start in range(0, len(TEXTS), 3):
        batch = TEXTS[start : start + 3]
        assert np.array_equal(ours.encode(batch, normalize), theirs.encode(batch, normalize))
    assert np.array_equal(ours.encode(TEXTS, normalize), theirs.encode(TEXTS, normalize))


def test_token_vectors_and_counts_equal_sentence_transformers(both):
    ours, theirs = both
    for text in TEXTS:
        tokens, vectors = ours.token_states(text)
        their_tokens, their_vectors = theirs.token_states(text)
        assert tokens == their_tokens
        np.testing.assert_allclose(vectors, their_vectors, rtol=0, atol=1e-6)
        assert ours.count_tokens(text) == theirs.count_tokens(text)


def test_embedding_a_text_does_not_import_sentence_transformers():
    code = (
        "import sys\n"
        "from genforge.embed.sentence import SentenceEmbedding\n"
        "v = SentenceEmbedding().embed_texts(['hello world'])\n"
        "print(v.shape, 'sentence_transformers' in sys.modules, 'transformers' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["(1,", "384)", "False", "False"]


def _copy(tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(default_model_path(), folder)
    return folder


def test_a_folder_it_cannot_reproduce_goes_to_sentence_transformers(tmp_path):
    folder = _copy(tmp_path)
    pooling = folder / "1_Pooling" / "config.json"
    settings = json.loads(pooling.read_text())
    pooling.write_text(
        json.dumps({**settings, "pooling_mode_mean_tokens": False, "pooling_mode_cls_token": True})
    )
    assert readable_folder(folder) is None
    encoder = load_encoder(str(folder))
    assert isinstance(encoder, SentenceTransformersEncoder)
    cls_vectors = SentenceEmbedding(folder, cache_size=0).embed_texts(["hello world"])
    assert not np.array_equal(cls_vectors, SentenceEmbedding(cache_size=0).embed_texts(["hello world"]))


def test_damaged_weights_are_one_clear_error(tmp_path):
    folder = _copy(tmp_path)
    (folder / "model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(CheckpointError, match="model.safetensors"):
        BertSentenceEncoder.from_folder(folder)

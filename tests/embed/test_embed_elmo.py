"""ELMo-style biLM: direction-respecting layers, layer mix, static vectors, save/load."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from genforge.core.errors import ConfigError
from genforge.embed.base import load_embedding
from genforge.embed.elmo import BiLM, ElmoConfig, train_elmo

WORDS = ["the", "bank", "river", "money", "loan", "water", "fish", "deposit", "account", "shore"]
CONFIG = ElmoConfig(min_count=1, epochs=4, seq_len=8, batch_size=8, learning_rate=0.01)


def sentences(n: int = 60) -> list[list[str]]:
    """Word cycles from a random start: the next word is predictable, so perplexity can fall."""
    rng = random.Random(0)
    out = []
    for _ in range(n):
        start = rng.randrange(len(WORDS))
        out.append([WORDS[(start + k) % len(WORDS)] for k in range(12)])
    return out


@pytest.fixture(scope="module")
def elmo():
    return train_elmo(sentences(), 8, 0, CONFIG, heldout=sentences(10))


def test_forward_half_ignores_later_tokens_and_backward_half_ignores_earlier_ones():
    torch.manual_seed(0)
    lm = BiLM(vocab_size=12, dim=8, layers=2, dropout=0.0).eval()
    ids = torch.randint(0, 12, (1, 7))
    changed = ids.clone()
    changed[0, 5] = (ids[0, 5] + 1) % 12
    with torch.no_grad():
        before, after = lm.layers(ids), lm.layers(changed)
    forward, backward = slice(0, 4), slice(4, 8)
    torch.testing.assert_close(before[1:, :, :5, forward], after[1:, :, :5, forward])
    torch.testing.assert_close(before[1:, :, 6:, backward], after[1:, :, 6:, backward])
    assert not torch.allclose(before[1:, :, :5, backward], after[1:, :, :5, backward])


def test_layers_stack_embedding_and_each_lstm_layer():
    lm = BiLM(vocab_size=5, dim=6, layers=3, dropout=0.0)
    assert lm.layers(torch.zeros(2, 4, dtype=torch.long)).shape == (4, 2, 4, 6)


def test_same_word_gets_different_vectors_in_different_contexts(elmo):
    first = elmo.contextual_vectors(["money", "bank", "loan"])[1]
    second = elmo.contextual_vectors(["river", "bank", "water"])[1]
    assert not np.allclose(first, second)


def test_contextual_vector_is_the_normalised_mix_of_layers(elmo):
    layers = elmo.layer_vectors(["the", "bank"])
    np.testing.assert_allclose(
        elmo.contextual_vectors(["the", "bank"]), layers.mean(axis=0), rtol=1e-5, atol=1e-6
    )


def test_static_vector_is_the_mean_contextual_vector_over_training_occurrences(elmo):
    docs = sentences()
    occurrences = [elmo.contextual_vectors(doc)[i] for doc in docs for i, w in enumerate(doc) if w == "fish"]
    np.testing.assert_allclose(
        elmo.embed_words(["fish"])[0], np.mean(occurrences, axis=0), rtol=1e-4, atol=1e-5
    )


def test_training_records_perplexities_below_uniform(elmo):
    uniform = len(WORDS) + 1
    assert elmo.settings["train_perplexity"] < uniform
    assert elmo.settings["val_perplexity"] < uniform


def test_saved_elmo_reloads_with_identical_contextual_vectors(elmo, tmp_path):
    loaded = load_embedding(elmo.save(tmp_path / "elmo"))
    tokens = ["the", "river", "bank", "unseenword"]
    np.testing.assert_allclose(loaded.contextual_vectors(tokens), elmo.contextual_vectors(tokens), rtol=1e-6)
    np.testing.assert_array_equal(loaded.vectors, elmo.vectors)


def test_odd_dimension_and_wrong_mix_length_are_config_errors():
    with pytest.raises(ConfigError, match="even"):
        train_elmo(sentences(5), 7, 0, CONFIG)
    with pytest.raises(ConfigError, match="mix_weights"):
        train_elmo(sentences(5), 8, 0, ElmoConfig(min_count=1, mix_weights=[1.0]))

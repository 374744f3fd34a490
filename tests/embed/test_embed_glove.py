"""GloVe in genforge: co-occurrence counts, weighting, gradients, AdaGrad fitting, save/load."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from genforge.embed.base import load_embedding
from genforge.embed.glove import (
    GloVe,
    GloVeConfig,
    cooccurrence_matrix,
    glove_loss_and_grads,
    glove_weight,
    train_glove,
)

ROYAL = ["king", "queen", "prince", "princess", "crown", "throne", "palace", "royal"]
MOTOR = ["car", "truck", "engine", "road", "wheel", "driver", "fuel", "garage"]


def topic_sentences(n: int = 300, seed: int = 0) -> list[list[str]]:
    """Sentences drawing 8 words from one of two disjoint topics."""
    rng = random.Random(seed)
    return [rng.choices(ROYAL if i % 2 else MOTOR, k=8) for i in range(n)]


def test_cooccurrence_adds_inverse_distance_symmetrically_within_sentences():
    matrix = cooccurrence_matrix([[0, 1, 2], [2, 3]], vocab_size=4, window=2).toarray()
    expected = np.zeros((4, 4))
    for i, j, w in [(0, 1, 1.0), (1, 2, 1.0), (0, 2, 0.5), (2, 3, 1.0)]:
        expected[i, j] = expected[j, i] = w
    np.testing.assert_allclose(matrix, expected)


def test_cooccurrence_ignores_pairs_beyond_the_window():
    matrix = cooccurrence_matrix([[0, 1, 2, 3]], vocab_size=4, window=1).toarray()
    assert matrix[0, 2] == 0 and matrix[0, 3] == 0 and matrix[0, 1] == 1.0


def test_weight_function_caps_at_one_and_follows_power_law():
    x = torch.tensor([1.0, 50.0, 100.0, 1000.0])
    np.testing.assert_allclose(glove_weight(x, 100.0, 0.75), [0.01**0.75, 0.5**0.75, 1.0, 1.0], rtol=1e-6)


def test_handwritten_gradients_match_autograd():
    gen = torch.Generator().manual_seed(0)
    w, c = (
        torch.randn(6, 4, generator=gen, requires_grad=True),
        torch.randn(6, 4, generator=gen, requires_grad=True),
    )
    bw, bc = (
        torch.randn(6, generator=gen, requires_grad=True),
        torch.randn(6, generator=gen, requires_grad=True),
    )
    x = torch.rand(6, generator=gen) * 20 + 0.5
    loss, grads = glove_loss_and_grads(w, c, bw, bc, x, x_max=10.0, alpha=0.75)
    auto = torch.autograd.grad(loss, (w, c, bw, bc))
    for mine, reference in zip(grads, auto, strict=True):
        torch.testing.assert_close(mine, reference)


def test_fit_lowers_the_loss_and_is_reproducible_with_a_seed():
    sentences = topic_sentences()
    config = GloVeConfig(min_count=1, window=3, epochs=15, batch_size=64)
    first = GloVe(dim=8, seed=3, config=config).fit(sentences)
    second = GloVe(dim=8, seed=3, config=config).fit(sentences)
    assert first.loss_history_[-1] < 0.5 * first.loss_history_[0]
    np.testing.assert_array_equal(first.vectors_, second.vectors_)


def test_words_of_one_topic_end_up_closer_than_words_of_different_topics():
    embedding = train_glove(
        topic_sentences(), 8, 0, GloVeConfig(min_count=1, window=3, epochs=30, batch_size=64)
    )
    unit = embedding.vectors / np.linalg.norm(embedding.vectors, axis=1, keepdims=True)
    topic = np.array([w in ROYAL for w in embedding.words])
    sims = unit @ unit.T
    same = sims[np.equal.outer(topic, topic) & ~np.eye(len(topic), dtype=bool)].mean()
    across = sims[~np.equal.outer(topic, topic)].mean()
    assert same > across + 0.3


def test_saved_glove_reloads_with_identical_vectors_and_neighbours(tmp_path):
    embedding = train_glove(topic_sentences(60), 6, 0, GloVeConfig(min_count=1, epochs=3, batch_size=64))
    loaded = load_embedding(embedding.save(tmp_path / "glove"))
    assert sorted(p.name for p in (tmp_path / "glove").iterdir()) == ["embedding.json", "vectors.safetensors"]
    np.testing.assert_array_equal(loaded.vectors, embedding.vectors)
    assert loaded.neighbors("king", 3) == embedding.neighbors("king", 3)
    assert loaded.settings["min_count"] == 1


def test_bad_learning_rate_is_a_config_error():
    from genforge.core.errors import ConfigError

    with pytest.raises(ConfigError, match="learning_rate"):
        GloVeConfig.build({"learning_rate": -1})


def test_manifest_that_does_not_match_the_vectors_is_a_checkpoint_error(tmp_path):
    import json

    from genforge.core.errors import CheckpointError

    path = train_glove(topic_sentences(40), 4, 0, GloVeConfig(min_count=1, epochs=1, batch_size=64)).save(
        tmp_path / "g"
    )
    manifest = json.loads((path / "embedding.json").read_text())
    manifest["settings"]["words"].pop()
    manifest["settings"]["counts"].pop()
    (path / "embedding.json").write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match="do not match"):
        load_embedding(path)

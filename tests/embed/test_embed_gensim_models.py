"""Word2Vec and fastText through gensim, saved and reloaded without pickle."""

from __future__ import annotations

import random

import numpy as np
import pytest

from genforge.embed.base import UnknownWord, load_embedding
from genforge.embed.gensim_models import FastTextConfig, Word2VecConfig, train_fasttext, train_word2vec

WORDS = ["government", "minister", "police", "court", "election", "vote", "party", "leader"]


def sentences(n: int = 150) -> list[list[str]]:
    rng = random.Random(0)
    return [rng.choices(WORDS, k=10) for _ in range(n)]


@pytest.fixture(scope="module")
def word2vec():
    return train_word2vec(sentences(), 16, 0, Word2VecConfig(min_count=1, epochs=3, architecture="cbow"))


@pytest.fixture(scope="module")
def fasttext():
    return train_fasttext(sentences(), 16, 0, FastTextConfig(min_count=1, epochs=3, bucket=5000))


def test_word2vec_is_reproducible_with_one_worker(word2vec):
    again = train_word2vec(sentences(), 16, 0, Word2VecConfig(min_count=1, epochs=3, architecture="cbow"))
    np.testing.assert_array_equal(again.vectors, word2vec.vectors)


def test_word2vec_round_trip_rebuilds_gensim_keyed_vectors(word2vec, tmp_path):
    loaded = load_embedding(word2vec.save(tmp_path / "w2v"))
    assert sorted(p.name for p in (tmp_path / "w2v").iterdir()) == ["embedding.json", "vectors.safetensors"]
    np.testing.assert_array_equal(loaded.vectors, word2vec.vectors)
    assert loaded.keyed_vectors.most_similar("police", topn=3) == word2vec.keyed_vectors.most_similar(
        "police", topn=3
    )
    assert loaded.counts == word2vec.counts
    assert loaded.settings["architecture"] == "cbow"


def test_word2vec_unknown_word_is_a_clear_error(word2vec):
    assert not word2vec.has_word("governments")
    with pytest.raises(UnknownWord, match="governments"):
        word2vec.embed_words(["governments"])


def test_word2vec_text_vector_is_mean_of_known_word_vectors(word2vec):
    text = word2vec.embed_texts(["The police and the court!"])[0]
    np.testing.assert_allclose(text, word2vec.embed_words(["police", "court"]).mean(axis=0), rtol=1e-6)


def test_fasttext_builds_vectors_for_unseen_words_from_ngrams(fasttext):
    assert "governments" not in fasttext.index and fasttext.has_word("governments")
    vector = fasttext.embed_words(["governments"])[0]
    assert np.linalg.norm(vector) > 0
    cos = vector @ fasttext.embed_words(["government"])[0]
    cos /= np.linalg.norm(vector) * np.linalg.norm(fasttext.embed_words(["government"])[0])
    assert cos > 0.5


def test_fasttext_round_trip_gives_identical_in_and_out_of_vocabulary_vectors(fasttext, tmp_path):
    loaded = load_embedding(fasttext.save(tmp_path / "ft"))
    words = ["police", "policeman", "governments", "zzzq"]
    np.testing.assert_array_equal(loaded.embed_words(words), fasttext.embed_words(words))
    assert loaded.keyed_vectors.bucket == 5000


def test_fasttext_stores_only_trained_ngram_rows(fasttext):
    _, arrays = fasttext.state()
    assert 0 < len(arrays["ngram_rows"]) < 5000
    assert arrays["vectors_ngrams"].shape == (len(arrays["ngram_rows"]), 16)


def test_fasttext_rejects_min_n_above_max_n():
    from genforge.core.errors import ConfigError

    with pytest.raises(ConfigError, match="min_n"):
        train_fasttext(sentences(5), 4, 0, FastTextConfig(min_count=1, min_n=5, max_n=3))

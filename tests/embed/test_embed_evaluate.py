"""Word-similarity and analogy evaluation on the files gensim ships."""

from __future__ import annotations

import numpy as np

from genforge.embed.base import Embedding
from genforge.embed.evaluate import (
    Analogy,
    analogy_accuracy,
    evaluate_embedding,
    load_analogies,
    load_word_pairs,
    oov_rate,
    word_similarity,
)
from genforge.embed.query import nearest_words, solve_analogy
from genforge.embed.static import WordVectors


class Table(WordVectors):
    kind = "table"


def test_test_sets_have_their_published_sizes():
    assert len(load_word_pairs("wordsim353")) == 353
    assert len(load_word_pairs("simlex999")) == 999
    questions = load_analogies()
    assert len(questions) == 19544
    assert len({q.section for q in questions}) == 14
    assert questions[0] == Analogy("capital-common-countries", "athens", "greece", "baghdad", "iraq")


def test_spearman_is_one_when_cosine_order_matches_human_order():
    pairs = [("a", "b", 1.0), ("a", "c", 2.0), ("a", "d", 3.0), ("a", "zz", 4.0)]
    angles = {"a": 0.0, "b": 1.4, "c": 1.0, "d": 0.3}
    table = Table(list(angles), np.array([[np.cos(t), np.sin(t)] for t in angles.values()]))
    result = word_similarity(table, pairs)
    assert result["spearman"] == 1.0
    assert (result["pairs_used"], result["pairs_total"]) == (3, 4)


def test_restricting_vocabulary_drops_pairs_and_too_few_pairs_give_no_correlation():
    table = Table(["a", "b", "c"], np.eye(3))
    result = word_similarity(
        table, [("a", "b", 1.0), ("a", "c", 2.0), ("b", "c", 3.0)], restrict_to={"a", "b"}
    )
    assert result["spearman"] is None and result["pairs_used"] == 1


def _offset_table() -> Table:
    """Orthonormal countries; capital = country + one shared orthogonal offset; unrelated extra words."""
    countries = ["france", "italy", "spain", "japan"]
    capitals = ["paris", "rome", "madrid", "tokyo"]
    axes = np.eye(8)
    vectors = np.vstack([axes[:4], axes[:4] + axes[4], axes[5:]])
    return Table(countries + capitals + ["noise", "other", "thing"], vectors)


def test_analogies_with_a_shared_offset_are_all_solved_by_3cosadd_and_3cosmul():
    table = _offset_table()
    questions = [
        Analogy("capital", "paris", "france", "rome", "italy"),
        Analogy("capital", "madrid", "spain", "tokyo", "japan"),
        Analogy("gram-x", "france", "paris", "japan", "tokyo"),
        Analogy("capital", "paris", "france", "berlin", "germany"),
    ]
    result = analogy_accuracy(table, questions)
    assert result["accuracy_3cosadd"] == 1.0 and result["accuracy_3cosmul"] == 1.0
    assert (result["questions_used"], result["questions_total"]) == (3, 4)
    assert result["syntactic_accuracy_3cosadd"] == 1.0


def test_solve_analogy_returns_a_minus_b_plus_c_and_never_the_query_words():
    table = _offset_table()
    answers = solve_analogy(table, "rome", "italy", "spain", k=3)
    assert answers[0][0] == "madrid"
    assert not {"rome", "italy", "spain"} & {w for w, _ in answers}


def test_nearest_words_excludes_the_query():
    table = _offset_table()
    assert "paris" not in [w for w, _ in nearest_words(table, "Paris", 5)]


def test_oov_rate_counts_distinct_words_the_model_cannot_embed():
    table = Table(["a", "b"], np.eye(2))
    assert oov_rate(table, ["a", "a", "b", "c"]) == 1 / 3


def test_full_evaluation_reports_every_test_with_coverage():
    result = evaluate_embedding(_offset_table())
    assert set(result) == {"wordsim353", "simlex999", "analogies", "oov_rate"}
    assert result["analogies"]["questions_used"] > 0
    assert 0.99 < result["oov_rate"] < 1.0


def test_open_vocabulary_models_search_the_analogy_test_words():
    class Letters(Embedding):
        kind = "letters"
        dim = 26

        def embed_words(self, words):
            out = np.zeros((len(words), 26), dtype=np.float32)
            for row, word in enumerate(words):
                for ch in word:
                    if "a" <= ch <= "z":
                        out[row, ord(ch) - 97] += 1
            return out

    questions = load_analogies()[:50]
    result = analogy_accuracy(Letters(), questions)
    assert result["questions_used"] == 50
    assert result["candidate_words"] == len({w for q in questions for w in q.words})

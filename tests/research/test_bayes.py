"""The correlated Bayesian t-test equals its closed form (golden values from scipy's Student-t, see
tests/golden/make_research_goldens.py), is calibrated under a true null, and the Bayesian bootstrap
agrees with it on well-behaved data."""

import json
from pathlib import Path

import numpy as np
import pytest

from genforge.core.errors import ConfigError
from genforge.research import bayes

GOLDEN = json.loads((Path(__file__).parents[1] / "golden" / "research.json").read_text())


@pytest.mark.parametrize("case", GOLDEN["correlated_ttest"], ids=lambda c: f"n{len(c['differences'])}")
def test_correlated_ttest_equals_the_closed_form(case):
    posterior = bayes.correlated_ttest(case["differences"], rope=case["rope"], rho=case["rho"])
    for key in ("p_a_better", "p_equivalent", "p_b_better", "p_value"):
        assert getattr(posterior, key) == pytest.approx(case[key], abs=1e-9), key


def test_probabilities_sum_to_one_and_follow_the_sign():
    better = bayes.correlated_ttest([0.5, 0.6, 0.55, 0.4], rope=0.1)
    worse = bayes.correlated_ttest([-0.5, -0.6, -0.55, -0.4], rope=0.1)
    assert better.p_a_better + better.p_equivalent + better.p_b_better == pytest.approx(1.0)
    assert better.p_a_better > 0.95 and worse.p_b_better > 0.95
    assert better.p_a_better == pytest.approx(worse.p_b_better)


def test_correlation_widens_the_posterior():
    d = [0.1, 0.3, 0.2, 0.25, 0.05]
    assert bayes.correlated_ttest(d, rho=0.2).p_a_better < bayes.correlated_ttest(d).p_a_better


def test_under_a_true_null_p_better_exceeds_095_in_5_percent_of_comparisons():
    # with a flat prior P(A better) > 0.95 is exactly a one-sided p < 0.05: 5 % of null comparisons
    # (1000 comparisons would scatter 50 ± 7 around it, so 20,000 pin the rate to ± 0.3 %)
    rng = np.random.default_rng(5)
    confident = np.mean([bayes.correlated_ttest(d).p_a_better > 0.95 for d in rng.normal(0, 1, (20000, 5))])
    assert 0.045 <= confident <= 0.055, confident


def test_identical_differences_give_a_point_mass():
    posterior = bayes.correlated_ttest([0.2, 0.2, 0.2], rope=0.1)
    assert (posterior.p_a_better, posterior.p_equivalent, posterior.p_b_better) == (1.0, 0.0, 0.0)
    inside = bayes.correlated_ttest([0.05, 0.05], rope=0.1)
    assert inside.p_equivalent == 1.0


def test_bayesian_bootstrap_agrees_with_the_t_test_on_many_normal_pairs():
    d = np.random.default_rng(1).normal(0.1, 0.5, 200)
    t = bayes.correlated_ttest(d, rope=0.02)
    b = bayes.bayesian_bootstrap(d, rope=0.02, seed=3)
    assert b.p_a_better == pytest.approx(t.p_a_better, abs=0.02)
    assert b.p_a_better == bayes.bayesian_bootstrap(d, rope=0.02, seed=3).p_a_better  # seeded


def test_bad_rope_and_rho_are_one_clear_error():
    with pytest.raises(ConfigError, match="non-negative"):
        bayes.correlated_ttest([0.1, 0.2], rope=-0.5)
    with pytest.raises(ConfigError, match=r"\[0, 1\)"):
        bayes.correlated_ttest([0.1, 0.2], rho=1.0)


def test_signed_rank_follows_the_sign_and_is_symmetric():
    d = [0.5, 0.6, 0.55, 0.4, 0.3, 0.45]
    better = bayes.signed_rank(d, rope=0.1, seed=2)
    worse = bayes.signed_rank([-v for v in d], rope=0.1, seed=2)
    assert better.p_a_better > 0.99 and worse.p_b_better > 0.99
    assert better.p_a_better == worse.p_b_better  # same draws, mirrored data
    assert better.p_a_better + better.p_equivalent + better.p_b_better == pytest.approx(1.0)


def test_signed_rank_calls_differences_inside_the_rope_equal():
    d = np.random.default_rng(0).normal(0, 0.01, 20)
    assert bayes.signed_rank(d, rope=0.1).p_equivalent == 1.0


def test_signed_rank_is_robust_to_one_outlier_where_the_t_test_is_not():
    # nine small gains for A and one huge loss: the t-test's mean is dragged below 0, the signed-rank
    # posterior still sees A winning most pairs (Benavoli et al. 2017 motivate it by this)
    d = [0.2] * 9 + [-50.0]
    assert bayes.correlated_ttest(d).p_a_better < 0.5
    assert bayes.signed_rank(d, seed=1).p_a_better > 0.5


def test_signed_rank_prior_must_be_positive():
    with pytest.raises(ConfigError, match="prior strength"):
        bayes.signed_rank([0.1, 0.2], prior=0)


def _baycomp_probs(case, posterior):
    """baycomp's tuple: (x better, rope, y better), or (x better, y better) without a rope."""
    ours = (posterior.p_a_better, posterior.p_equivalent, posterior.p_b_better)
    return ours if len(case["probs"]) == 3 else (ours[0], ours[2])


@pytest.mark.parametrize("case", GOLDEN["baycomp"]["correlated_ttest"], ids=lambda c: f"rho{c['rho']:.2f}")
def test_correlated_ttest_equals_baycomp(case):
    d = np.array(case["a"]) - np.array(case["b"])
    posterior = bayes.correlated_ttest(d, rope=case["rope"], rho=case["rho"])
    np.testing.assert_allclose(_baycomp_probs(case, posterior), case["probs"], rtol=0, atol=1e-9)


@pytest.mark.parametrize("case", GOLDEN["baycomp"]["signed_rank"], ids=lambda c: f"seed{c['seed']}")
def test_signed_rank_equals_baycomp_with_the_same_monte_carlo_seed(case):
    d = np.array(case["a"]) - np.array(case["b"])
    posterior = bayes.signed_rank(d, rope=case["rope"], seed=case["seed"])
    np.testing.assert_allclose(_baycomp_probs(case, posterior), case["probs"], rtol=0, atol=1e-3)

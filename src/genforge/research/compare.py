"""``compare(a, b, metric=...)``: is the set of runs A better than the set of runs B?

Runs are paired by their seed (the same seed drew the same data order, initialisation and samples on
both sides), each pair gives one difference oriented by the metric's direction (positive: A did better),
and :mod:`genforge.research.bayes` turns the differences into P(A better), P(practically equal) and
P(B better) with a region of practical equivalence. Each side is also summarised on its own (mean ± std
and 95 % intervals, :func:`genforge.research.stats.summarize`). The result is one JSON-ready record
(``kind: genforge.comparison``) that the CLI prints, the report renders and a pipeline gate can read.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from genforge import __version__
from genforge.core.errors import ConfigError
from genforge.research.aggregate import poi_interval
from genforge.research.bayes import Posterior, bayesian_bootstrap, check_rope, correlated_ttest, signed_rank
from genforge.research.runsets import RunFigure, collect, metric_direction
from genforge.research.stats import DEFAULT_CONFIDENCE, summarize

METHODS = ("correlated-t", "bayesian-bootstrap", "signed-rank")
RESULT_KIND = "genforge.comparison"
RESULT_VERSION = 1


@dataclass
class Comparison:
    """The outcome of :func:`compare`; ``to_dict()`` is the stable JSON record."""

    metric: str
    direction: str
    a: str
    b: str
    pairs: list[dict[str, Any]]
    posterior: Posterior
    summary_a: dict[str, Any]
    summary_b: dict[str, Any]
    settings: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    improvement: dict[str, Any] | None = None  # rliable's probability of improvement P(A beats B)

    @property
    def p_a_better(self) -> float:
        return self.posterior.p_a_better

    @property
    def p_b_better(self) -> float:
        return self.posterior.p_b_better

    @property
    def p_equivalent(self) -> float:
        return self.posterior.p_equivalent

    def verdict(self, threshold: float = 0.95) -> str:
        """One sentence: which side is better with posterior probability >= ``threshold``, if any."""
        return verdict_of(self.posterior, threshold)

    def command(self) -> str:
        """The ``genforge compare`` command that gives this comparison again."""
        s = self.settings
        return (
            f"genforge compare {shlex.quote(self.a)} {shlex.quote(self.b)} --metric {shlex.quote(self.metric)} "
            f"--direction {self.direction} --rope {s['rope']!r} --method {s['method']} --rho {s['rho']!r} "
            f"--confidence {s['confidence']!r} --seed {s['seed']}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": RESULT_KIND,
            "version": RESULT_VERSION,
            "metric": self.metric,
            "direction": self.direction,
            "a": {"ref": self.a, "summary": self.summary_a},
            "b": {"ref": self.b, "summary": self.summary_b},
            "pairs": self.pairs,
            "p_a_better": self.p_a_better,
            "p_equivalent": self.p_equivalent,
            "p_b_better": self.p_b_better,
            "verdict": self.verdict(),
            "posterior": self.posterior.to_dict(),
            "settings": self.settings,
            "command": self.command(),
            "probability_of_improvement": self.improvement,
            "notes": self.notes,
            "genforge": __version__,
        }


def _by_seed(figures: list[RunFigure], side: str, ref: str) -> dict[int, RunFigure]:
    out: dict[int, RunFigure] = {}
    for figure in figures:
        if figure.seed in out:
            raise ConfigError(
                f"{side} ({ref}) has two runs with seed {figure.seed} ({out[figure.seed].path}, {figure.path}): "
                "pairs are made by seed, so keep one run per seed"
            )
        out[figure.seed] = figure
    return out


def _check_same_data(a: list[RunFigure], b: list[RunFigure]) -> None:
    datasets = sorted({f.data for f in a + b})
    if len(datasets) > 1:
        raise ConfigError(
            f"the runs were trained on different data ({', '.join(datasets)}): compare runs of one dataset"
        )


def pair_runs(
    a: list[RunFigure], b: list[RunFigure], a_ref: str, b_ref: str
) -> tuple[list[tuple[RunFigure, RunFigure]], list[str]]:
    """Runs of A and B with the same seed, by seed; notes name the runs left without a partner."""
    _check_same_data(a, b)
    by_a, by_b = _by_seed(a, "A", a_ref), _by_seed(b, "B", b_ref)
    seeds = sorted(set(by_a) & set(by_b))
    notes = [
        f"{side} run {figs[s].path} (seed {s}) has no partner with that seed and is left out"
        for side, figs, other in (("A", by_a, by_b), ("B", by_b, by_a))
        for s in sorted(set(figs) - set(other))
    ]
    if len(seeds) < 2:
        raise ConfigError(
            f"A and B share {len(seeds)} seed(s) (A: {sorted(by_a)}, B: {sorted(by_b)}); a paired comparison "
            "needs at least 2 runs a side with the same seeds"
        )
    return [(by_a[s], by_b[s]) for s in seeds], notes


def compare_values(
    a: Sequence[float],
    b: Sequence[float],
    *,
    direction: str,
    rope: float = 0.0,
    method: str = "correlated-t",
    rho: float = 0.0,
    seed: int = 0,
) -> Posterior:
    """The posterior of "A better than B" from paired values (A's i-th with B's i-th)."""
    if method not in METHODS:
        raise ConfigError(f"unknown comparison method '{method}' (choose {', '.join(METHODS)})")
    a_values, b_values = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a_values.shape != b_values.shape:
        raise ConfigError(f"paired values need equal counts, got {a_values.size} and {b_values.size}")
    sign = 1.0 if metric_direction("", direction) == "higher" else -1.0
    differences = sign * (a_values - b_values)
    if method == "correlated-t":
        return correlated_ttest(differences, rope=rope, rho=rho)
    if method == "signed-rank":
        return signed_rank(differences, rope=rope, seed=seed)
    return bayesian_bootstrap(differences, rope=rope, seed=seed)


def compare(
    a: str | Path,
    b: str | Path,
    metric: str,
    *,
    rope: float = 0.0,
    direction: str | None = None,
    method: str = "correlated-t",
    rho: float = 0.0,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
) -> Comparison:
    """Compare the runs ``a`` names with the runs ``b`` names on ``metric`` (see the module docstring).

    ``a``/``b``: a folder of runs, one run directory or a quoted glob. ``rope``: differences smaller than
    this (in the metric's units) count as practically equal. ``rho``: the correlation between pairs
    (Nadeau–Bengio; 0 for runs that differ by seed, ``n_test / n_total`` for cross-validation folds).
    """
    check_rope(rope)
    direction = metric_direction(metric, direction)
    a_ref, b_ref = str(a), str(b)
    pairs, notes = pair_runs(collect(a_ref, metric), collect(b_ref, metric), a_ref, b_ref)
    a_values = [pa.value for pa, _ in pairs]
    b_values = [pb.value for _, pb in pairs]
    posterior = compare_values(
        a_values, b_values, direction=direction, rope=rope, method=method, rho=rho, seed=seed
    )
    sign = 1.0 if direction == "higher" else -1.0
    rows = [
        {"seed": pa.seed, "a_run": pa.path, "b_run": pb.path, "a": pa.value, "b": pb.value,
         "a_improvement": sign * (pa.value - pb.value)}
        for pa, pb in pairs
    ]  # fmt: skip
    return Comparison(
        metric=metric,
        direction=direction,
        a=a_ref,
        b=b_ref,
        pairs=rows,
        posterior=posterior,
        summary_a=summarize(a_values, confidence=confidence, seed=seed),
        summary_b=summarize(b_values, confidence=confidence, seed=seed),
        settings={"method": method, "rope": rope, "rho": rho, "confidence": confidence, "seed": seed},
        notes=notes,
        improvement=poi_interval(a_values, b_values, direction=direction, confidence=confidence, seed=seed),
    )


def verdict_of(posterior, threshold: float = 0.95, over: str = "") -> str:
    """One sentence from a posterior: which side is better with probability >= ``threshold``, if any
    (``over`` is appended to the claim, e.g. " over the tasks")."""
    if posterior.p_a_better >= threshold:
        return f"A is better{over} (P = {posterior.p_a_better:.3f})"
    if posterior.p_b_better >= threshold:
        return f"B is better{over} (P = {posterior.p_b_better:.3f})"
    if posterior.p_equivalent >= threshold:
        return f"A and B are practically equal{over} (P = {posterior.p_equivalent:.3f})"
    return f"undecided at {threshold:.2f}: more seeds would tell"

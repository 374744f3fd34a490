"""Fréchet distance between two Gaussians fitted to feature sets (FID when the features are Inception's).

    FD = ||mu_1 - mu_2||^2 + tr(S_1) + tr(S_2) - 2 tr((S_1 S_2)^{1/2})       (Heusel et al. 2017, eq. 6)

Written here rather than taken from torchmetrics / torch-fidelity / pytorch-fid because those (a) import
torch and an Inception network for what is a few lines of linear algebra, (b) keep every feature vector in
memory, and (c) take the matrix square root with ``scipy.linalg.sqrtm`` (slow, and unstable on
near-singular covariances) or non-symmetric ``eigvals``. Here:

* Statistics are running sums in float64 merged with the pairwise update of Chan, Golub & LeVeque (1979),
  so memory is O(D^2) whatever N is, and two workers' states merge exactly.
* Covariances are unbiased (divide by N - 1), as ``numpy.cov`` and all reference implementations.
* ``tr((S_1 S_2)^{1/2})`` is the sum of square roots of the eigenvalues of S_1 S_2, which are the
  eigenvalues of the *symmetric* PSD matrix ``F^T S_2 F`` for any factor ``S_1 = F F^T`` (similar
  matrices). F is the Cholesky factor (fast), or ``V diag(sqrt(w))`` from ``eigh`` when S_1 is singular
  (N <= D). ``eigvalsh`` of a symmetric matrix is several times faster and better conditioned than
  ``sqrtm``. Eigenvalues that round-off makes slightly negative contribute 0, which is what the real
  part of their complex square root gives in the reference implementations.
* The result is not clamped: a slightly negative FD (two near-identical sets) is reported as computed.
* With fewer samples than dimensions the covariance is singular and FD is strongly biased; that is
  reported as a warning in the result (and through :mod:`warnings`).
"""

from __future__ import annotations

import warnings
from typing import Any, Self

import numpy as np

from genforge.core.errors import DataError
from genforge.metrics.base import (
    PRECOMPUTED,
    FeatureMetric,
    FeatureSource,
    State,
    as_features,
    check_min_samples,
    check_same_dim,
    metric_label,
)
from genforge.metrics.registry import register_metric


class GaussianStats:
    """Running count, mean ``(D,)`` and scatter matrix ``sum (x - mean)(x - mean)^T`` ``(D, D)``, float64."""

    def __init__(self) -> None:
        self.n = 0
        self.mean: np.ndarray | None = None
        self.scatter: np.ndarray | None = None

    @property
    def dim(self) -> int | None:
        return None if self.mean is None else int(self.mean.shape[0])

    def update(self, features: Any) -> Self:
        """Add a batch of features ``(B, D)``."""
        x = as_features(features)
        if len(x) == 0:
            return self
        batch_mean = x.mean(axis=0)
        centred = x - batch_mean
        batch = GaussianStats()
        batch.n, batch.mean, batch.scatter = len(x), batch_mean, centred.T @ centred
        return self.merge(batch)

    def merge(self, other: GaussianStats) -> Self:
        """Combine with another state (Chan et al. 1979): exact, order-independent up to round-off."""
        if other.n == 0:
            return self
        if self.n == 0:
            self.n, self.mean, self.scatter = other.n, other.mean.copy(), other.scatter.copy()
            return self
        if other.dim != self.dim:
            raise DataError(
                f"features have {other.dim} dimensions but earlier batches had {self.dim}: "
                "every batch must come from the same extractor"
            )
        total = self.n + other.n
        delta = other.mean - self.mean
        self.scatter = self.scatter + other.scatter + np.outer(delta, delta) * (self.n * other.n / total)
        self.mean = self.mean + delta * (other.n / total)
        self.n = total
        return self

    def covariance(self) -> np.ndarray:
        """Unbiased covariance ``(D, D)`` (divides by N - 1)."""
        if self.n < 2:
            raise DataError(f"a covariance needs at least 2 samples, got {self.n}")
        return self.scatter / (self.n - 1)

    def to_arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        if self.n == 0:
            return {f"{prefix}n": np.array(0, dtype=np.int64)}
        return {
            f"{prefix}n": np.array(self.n, dtype=np.int64),
            f"{prefix}mean": self.mean,
            f"{prefix}scatter": self.scatter,
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str = "") -> GaussianStats:
        stats = cls()
        stats.n = int(arrays[f"{prefix}n"])
        if stats.n:
            stats.mean = np.asarray(arrays[f"{prefix}mean"], dtype=np.float64)
            stats.scatter = np.asarray(arrays[f"{prefix}scatter"], dtype=np.float64)
        return stats

    @classmethod
    def of(cls, features: Any, batch_size: int = 8192) -> GaussianStats:
        """Statistics of a whole ``(N, D)`` array, computed in batches of ``batch_size`` rows."""
        x = as_features(features)
        stats = cls()
        if len(x) <= batch_size:
            return stats.update(x)
        for start in range(0, len(x), batch_size):
            stats.update(x[start : start + batch_size])
        return stats


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """``tr((S_1 S_2)^{1/2})`` for symmetric PSD ``(D, D)`` matrices, from eigenvalues of ``F^T S_2 F``."""
    try:
        factor = np.linalg.cholesky(sigma1)
    except np.linalg.LinAlgError:
        w, v = np.linalg.eigh(sigma1)
        factor = v * np.sqrt(np.clip(w, 0.0, None))
    inner = factor.T @ sigma2 @ factor
    inner = (inner + inner.T) * 0.5
    eigenvalues = np.linalg.eigvalsh(inner)
    return float(np.sqrt(np.clip(eigenvalues, 0.0, None)).sum())


def frechet_distance_from_moments(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray
) -> float:
    """FD between N(mu1, sigma1) and N(mu2, sigma2); means ``(D,)``, covariances ``(D, D)``."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = (
        np.atleast_2d(np.asarray(sigma1, np.float64)),
        np.atleast_2d(np.asarray(sigma2, np.float64)),
    )
    d = mu1.shape[0]
    if mu2.shape != (d,) or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise DataError(
            f"mismatched statistics: means {mu1.shape} and {mu2.shape}, covariances {sigma1.shape} and "
            f"{sigma2.shape}; both sets must come from the same extractor"
        )
    for name, arr in (("mean", mu1), ("mean", mu2), ("covariance", sigma1), ("covariance", sigma2)):
        if not np.isfinite(arr).all():
            raise DataError(f"a {name} contains NaN or infinite values")
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt_product(sigma1, sigma2))


def frechet_distance_from_stats(
    real: GaussianStats, fake: GaussianStats, source: FeatureSource = PRECOMPUTED
) -> dict[str, Any]:
    """Self-describing FD result from two accumulated states (see :func:`frechet_distance`)."""
    check_min_samples(real.n, 2, "Fréchet distance", "real")
    check_min_samples(fake.n, 2, "Fréchet distance", "fake")
    if real.dim != fake.dim:
        raise DataError(
            f"real features have {real.dim} dimensions but fake features have {fake.dim}: "
            "both sets must come from the same extractor"
        )
    value = frechet_distance_from_moments(real.mean, real.covariance(), fake.mean, fake.covariance())
    notes = []
    if min(real.n, fake.n) < real.dim:
        notes.append(
            f"N={min(real.n, fake.n)} is smaller than the feature dimension {real.dim}: the covariance is "
            "singular and the Fréchet distance is strongly biased; use more samples"
        )
        warnings.warn(notes[-1], stacklevel=3)
    return {
        metric_label("fd", source): value,
        "metric": "frechet_distance",
        **source.describe(),
        "n_real": real.n,
        "n_fake": fake.n,
        "feature_dim": real.dim,
        "warnings": notes,
    }


def frechet_distance(
    real_features: Any, fake_features: Any, source: FeatureSource = PRECOMPUTED
) -> dict[str, Any]:
    """Fréchet distance between two feature sets ``(N1, D)`` and ``(N2, D)``.

    Returns ``{"fd" (or "fid" / "fd_<extractor>"): value, "n_real", "n_fake", "feature_dim",
    "extractor", "extractor_sha256", "warnings"}``.
    """
    real, fake = as_features(real_features, "real features"), as_features(fake_features, "fake features")
    check_same_dim(real, fake)
    return frechet_distance_from_stats(GaussianStats.of(real), GaussianStats.of(fake), source)


@register_metric(
    "fd",
    kind="feature-set",
    function=frechet_distance,
    summary="Fréchet distance between two sets (FID with inception:PATH; FD-digits with digits)",
    reference=True,
)
class FrechetDistance(FeatureMetric):
    """Streaming Fréchet distance: ``update(features, real=True|False)`` in batches, ``compute()`` at the end.

    Memory is two means and two ``D x D`` scatter matrices (float64), whatever the number of samples.
    """

    name = "frechet_distance"
    states = {"real": State(GaussianStats, "merge"), "fake": State(GaussianStats, "merge")}

    def update(self, features: Any, real: bool) -> None:
        (self.real if real else self.fake).update(features)

    def compute(self) -> dict[str, Any]:
        return frechet_distance_from_stats(self.real, self.fake, self.source)

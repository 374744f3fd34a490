"""Kernel distances between feature sets: KID (Bińkowski et al. 2018) and RBF-MMD.

KID is the unbiased estimate of the squared maximum mean discrepancy with the cubic polynomial kernel
``k(x, y) = (x.y / D + 1)^3``, averaged over random subsets:

    MMD^2_u = sum_{i != j} k(x_i, x_j) / (m (m - 1)) + sum_{i != j} k(y_i, y_j) / (n (n - 1))
              - 2 sum_{i, j} k(x_i, y_j) / (m n)

Subsets are drawn without replacement from ``numpy.random.RandomState(seed)``, alternately for the real
and the fake set, exactly as torch-fidelity draws them, so the same seed gives the same subsets (and the
same value) there. The reported std is the population std (ddof = 0) of the per-subset estimates, as in
torch-fidelity (torchmetrics reports ddof = 1). Small negative values are valid and not clamped.

:func:`mmd_rbf` is the same unbiased estimator with a Gaussian kernel over the *whole* sets, summed tile by
tile with the blocked distance core of :mod:`genforge.metrics.prdc` (no N x N matrix in memory).
Written here (numpy only) so KID needs neither torch nor an Inception network to be computed.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

import numpy as np
from pydantic import Field

from genforge.core.errors import DataError
from genforge.metrics.base import (
    PRECOMPUTED,
    FeatureSource,
    Options,
    as_features,
    check_min_samples,
    check_same_dim,
    metric_label,
)
from genforge.metrics.prdc import DEFAULT_BLOCK, FeatureSetMetric, squared_distance_tiles
from genforge.metrics.registry import register_metric


class KIDOptions(Options):
    """Options of :func:`kernel_distance`."""

    subsets: int = Field(100, ge=1, description="number of random subsets")
    subset_size: int = Field(1000, ge=2, description="samples per subset")
    degree: int = Field(3, ge=1, description="degree of the polynomial kernel")
    gamma: float | None = Field(None, description="kernel scale (default 1/D)")
    coef0: float = Field(1.0, description="kernel offset")
    seed: int = Field(0, description="seed of the subset draw")

    def for_sizes(self, n_real: int, n_fake: int) -> Self:
        """These options with subsets no larger than the sets (``genforge eval`` scores whatever N it has)."""
        return self.model_copy(update={"subset_size": min(self.subset_size, n_real, n_fake)})


class MMDOptions(Options):
    """Options of :func:`mmd_rbf`."""

    speed_only: ClassVar[tuple[str, ...]] = ("block_size",)

    bandwidth: float | None = Field(None, gt=0, description="RBF sigma (default: median pairwise distance)")
    block_size: int = Field(DEFAULT_BLOCK, ge=1, description="rows per distance tile (speed and memory only)")
    seed: int = Field(0, description="seed of the points drawn for the median bandwidth")


def polynomial_kernel(
    x: np.ndarray, y: np.ndarray, degree: int = 3, gamma: float | None = None, coef0: float = 1.0
):
    """``(gamma x.y + coef0)^degree`` for rows of ``x (M, D)`` and ``y (N, D)``; gamma defaults to 1/D."""
    gamma = 1.0 / x.shape[1] if gamma is None else gamma
    return (x @ y.T * gamma + coef0) ** degree


def mmd2_unbiased(k_xx: np.ndarray, k_xy: np.ndarray, k_yy: np.ndarray) -> float:
    """Unbiased MMD^2 from kernel matrices ``(m, m)``, ``(m, n)``, ``(n, n)`` (diagonals excluded)."""
    m, n = k_xx.shape[0], k_yy.shape[0]
    xx = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    yy = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return float(xx + yy - 2.0 * k_xy.sum() / (m * n))


def draw_subsets(
    n_real: int, n_fake: int, subsets: int, subset_size: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Index pairs ``(real_idx, fake_idx)``, each ``(subset_size,)``, drawn as torch-fidelity draws them."""
    rng = np.random.RandomState(seed)
    return [
        (rng.choice(n_real, subset_size, replace=False), rng.choice(n_fake, subset_size, replace=False))
        for _ in range(subsets)
    ]


def kernel_distance(
    real_features: Any,
    fake_features: Any,
    *,
    source: FeatureSource = PRECOMPUTED,
    subset_indices: list[tuple[np.ndarray, np.ndarray]] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """KID between ``(N, D)`` real and ``(M, D)`` fake features: mean and std over ``subsets`` subsets.

    ``options``: :class:`KIDOptions` (``subsets=100, subset_size=1000, degree=3, gamma=None, coef0=1.0,
    seed=0``). ``subset_indices`` replaces the seeded draw with given ``(real_idx, fake_idx)`` pairs.
    """
    opts = KIDOptions.parse(options, "kid")
    subsets, subset_size, seed = opts.subsets, opts.subset_size, opts.seed
    degree, gamma, coef0 = opts.degree, opts.gamma, opts.coef0
    real = as_features(real_features, "real features")
    fake = as_features(fake_features, "fake features")
    check_same_dim(real, fake)
    if subset_indices is None:
        if subset_size > min(len(real), len(fake)):
            raise DataError(
                f"KID subset size {subset_size} is larger than the sets (real {len(real)}, fake {len(fake)}): "
                "pass a smaller --subset-size or more samples"
            )
        subset_indices = draw_subsets(len(real), len(fake), subsets, subset_size, seed)
    values = []
    for real_idx, fake_idx in subset_indices:
        x, y = real[real_idx], fake[fake_idx]
        k_xx = polynomial_kernel(x, x, degree, gamma, coef0)
        k_yy = polynomial_kernel(y, y, degree, gamma, coef0)
        k_xy = polynomial_kernel(x, y, degree, gamma, coef0)
        values.append(mmd2_unbiased(k_xx, k_xy, k_yy))
    estimates = np.array(values)
    label = metric_label("kd", source)
    return {
        label: float(estimates.mean()),
        f"{label}_std": float(estimates.std()),
        "metric": "kernel_distance",
        **source.describe(),
        "kernel": f"polynomial(degree={degree}, gamma={'1/D' if gamma is None else gamma}, coef0={coef0})",
        "subsets": len(subset_indices),
        "subset_size": int(len(subset_indices[0][0])),
        "seed": seed,
        "n_real": len(real),
        "n_fake": len(fake),
        "feature_dim": real.shape[1],
    }


def median_bandwidth(real: np.ndarray, fake: np.ndarray, seed: int = 0, max_points: int = 1000) -> float:
    """Median pairwise distance of up to ``max_points`` pooled points (the usual RBF bandwidth heuristic)."""
    pooled = np.concatenate([real, fake])
    if len(pooled) > max_points:
        pooled = pooled[np.random.default_rng(seed).choice(len(pooled), max_points, replace=False)]
    sq = np.concatenate(
        [tile[np.triu_indices_from(tile, 1)] for _, _, tile in squared_distance_tiles(pooled, pooled)]
    )
    median = float(np.sqrt(np.median(sq)))
    if median == 0:
        raise DataError("all points coincide: the median-distance RBF bandwidth is 0; pass a bandwidth")
    return median


def mmd_rbf(
    real_features: Any, fake_features: Any, *, source: FeatureSource = PRECOMPUTED, **options: Any
) -> dict[str, Any]:
    """Unbiased MMD^2 with ``k(x, y) = exp(-|x - y|^2 / (2 sigma^2))`` over all pairs, tile by tile.

    ``options``: :class:`MMDOptions`; ``bandwidth`` (sigma) defaults to the median pairwise distance
    (:func:`median_bandwidth`).
    """
    opts = MMDOptions.parse(options, "mmd")
    bandwidth, block_size, seed = opts.bandwidth, opts.block_size, opts.seed
    real = as_features(real_features, "real features")
    fake = as_features(fake_features, "fake features")
    check_same_dim(real, fake)
    check_min_samples(len(real), 2, "MMD", "real")
    check_min_samples(len(fake), 2, "MMD", "fake")
    sigma = median_bandwidth(real, fake, seed) if bandwidth is None else float(bandwidth)
    scale = -1.0 / (2.0 * sigma * sigma)

    def off_diagonal_sum(x: np.ndarray) -> float:
        total = 0.0
        for i, j, tile in squared_distance_tiles(x, x, block_size, upper=True):
            k = np.exp(tile * scale)
            if i == j:
                total += k.sum() - np.trace(k)
            else:
                total += 2.0 * k.sum()
        return total

    m, n = len(real), len(fake)
    cross = sum(
        float(np.exp(tile * scale).sum()) for _, _, tile in squared_distance_tiles(real, fake, block_size)
    )
    value = (
        off_diagonal_sum(real) / (m * (m - 1))
        + off_diagonal_sum(fake) / (n * (n - 1))
        - 2.0 * cross / (m * n)
    )
    return {
        "mmd2_rbf": float(value),
        "metric": "mmd_rbf",
        **source.describe(),
        "bandwidth": sigma,
        "bandwidth_rule": "median pairwise distance" if bandwidth is None else "given",
        "n_real": m,
        "n_fake": n,
        "feature_dim": real.shape[1],
    }


@register_metric(
    "kid",
    kind="feature-set",
    function=kernel_distance,
    summary="kernel (Inception) distance: unbiased MMD^2, cubic polynomial kernel, seeded subsets",
)
class KernelDistance(FeatureSetMetric):
    """Streaming :func:`kernel_distance` (KID): ``KernelDistance(subsets=100, subset_size=1000, seed=0,
    degree=3, gamma=None, coef0=1.0, source=...)``; the subsets are drawn in ``compute()``."""

    name = "kernel_distance"
    options_class = KIDOptions
    function = staticmethod(kernel_distance)


@register_metric(
    "mmd",
    kind="feature-set",
    function=mmd_rbf,
    summary="unbiased MMD^2 with a Gaussian RBF kernel on any features",
)
class RBFMMD(FeatureSetMetric):
    """Streaming :func:`mmd_rbf`: ``RBFMMD(bandwidth=None, block_size=2048, seed=0, source=...)``; all
    pairs are summed in ``compute()``, tile by tile."""

    name = "mmd_rbf"
    options_class = MMDOptions
    function = staticmethod(mmd_rbf)

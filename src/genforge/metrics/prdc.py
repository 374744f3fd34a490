"""Improved precision/recall and density/coverage from one blocked k-nearest-neighbour core.

* Precision / recall (Kynkäänniemi et al. 2019, k = 3): each set's manifold is the union of balls around
  its points with radius the distance to the k-th nearest *other* point of the same set. Precision is
  the fraction of fake points inside the real manifold; recall the fraction of real points inside the
  fake manifold.
* Density / coverage (Naeem et al. 2020, k = 5): density is ``1/(k M) sum_j sum_i 1[fake_j in B(real_i)]``;
  coverage the fraction of real points whose ball contains at least one fake point.
Membership uses a strict ``<``, as the reference ``prdc`` package does.

Written here rather than calling ``prdc`` because that package builds the full N x N and N x M
distance matrices (50,000 points: 20 GB each in float64). The core below visits the distance matrices
in ``block_size x block_size`` tiles of squared Euclidean distances (``|x|^2 + |y|^2 - 2 x.y``, float64
by default), keeping only a running top-(k+1) per row and per-point flags and counts, so extra memory
is O(block_size^2 + N k) on top of the features. The within-set pass visits each tile pair once and
updates both sides (the matrix is symmetric).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from genforge.core.errors import ConfigError, DataError
from genforge.metrics.base import (
    PRECOMPUTED,
    FeatureMetric,
    FeatureSource,
    Options,
    State,
    as_features,
    check_min_samples,
    check_same_dim,
)
from genforge.metrics.registry import register_metric

DEFAULT_BLOCK = 2048


class PRDCOptions(Options):
    """Options of :func:`precision_recall_density_coverage`."""

    speed_only: ClassVar[tuple[str, ...]] = ("block_size",)

    k_pr: int = Field(3, ge=1, description="neighbours for precision/recall")
    k_dc: int = Field(5, ge=1, description="neighbours for density/coverage")
    block_size: int = Field(DEFAULT_BLOCK, ge=1, description="rows per distance tile (speed and memory only)")
    dtype: Literal["float64", "float32"] = Field("float64", description="precision of the distance tiles")


def _prepare(x: np.ndarray, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    if dtype not in ("float64", "float32"):
        raise ConfigError(f"dtype must be float64 or float32, got {dtype!r}")
    x = np.ascontiguousarray(x, dtype=dtype)
    return x, np.einsum("ij,ij->i", x, x)


def squared_distance_tiles(
    x: np.ndarray,
    y: np.ndarray,
    block_size: int = DEFAULT_BLOCK,
    *,
    dtype: str = "float64",
    upper: bool = False,
) -> Iterator[tuple[int, int, np.ndarray]]:
    """Yield ``(row_start, col_start, D)`` with ``D[i, j] = |x_i - y_j|^2`` for each tile.

    ``upper=True`` (only with ``y is x``) yields only tiles on or above the block diagonal. Negative
    round-off is set to 0 (a squared distance cannot be negative).
    """
    if block_size < 1:
        raise ConfigError(f"block_size must be positive, got {block_size}")
    x, x_sq = _prepare(x, dtype)
    if upper:
        y, y_sq = x, x_sq
    else:
        y, y_sq = _prepare(y, dtype)
    for i in range(0, len(x), block_size):
        xi, xi_sq = x[i : i + block_size], x_sq[i : i + block_size]
        for j in range(i if upper else 0, len(y), block_size):
            tile = xi @ y[j : j + block_size].T
            tile *= -2.0
            tile += xi_sq[:, None]
            tile += y_sq[None, j : j + block_size]
            np.maximum(tile, 0.0, out=tile)
            yield i, j, tile


def kth_neighbour_sq_distances(
    x: Any, ks: tuple[int, ...], block_size: int = DEFAULT_BLOCK, dtype: str = "float64"
) -> dict[int, np.ndarray]:
    """For each ``k`` in ``ks``: squared distance ``(N,)`` from every point to its k-th nearest other point.

    Computed like the reference: the (k+1)-th smallest distance in the row, the point itself included.
    """
    x = as_features(x)
    top = max(ks) + 1
    if len(x) < top:
        raise DataError(
            f"{len(x)} points are too few for k={max(ks)} nearest neighbours (need at least {top})"
        )
    best = np.full((len(x), top), np.inf, dtype=dtype)

    def absorb(rows: slice, tile: np.ndarray) -> None:
        merged = np.concatenate([best[rows], tile], axis=1)
        best[rows] = np.partition(merged, top - 1, axis=1)[:, :top]

    for i, j, tile in squared_distance_tiles(x, x, block_size, dtype=dtype, upper=True):
        absorb(slice(i, i + tile.shape[0]), tile)
        if j != i:
            absorb(slice(j, j + tile.shape[1]), tile.T)
    best.sort(axis=1)
    return {k: best[:, k].astype(np.float64) for k in ks}


def precision_recall_density_coverage(
    real_features: Any, fake_features: Any, *, source: FeatureSource = PRECOMPUTED, **options: Any
) -> dict[str, Any]:
    """Precision and recall (k = ``k_pr``) and density and coverage (k = ``k_dc``) of a fake set
    ``(M, D)`` against a real set ``(N, D)``; see the module docstring for definitions. ``options``:
    :class:`PRDCOptions` (``k_pr=3, k_dc=5, block_size=2048, dtype="float64"``)."""
    opts = PRDCOptions.parse(options, "prdc")
    k_pr, k_dc, block_size, dtype = opts.k_pr, opts.k_dc, opts.block_size, opts.dtype
    real = as_features(real_features, "real features")
    fake = as_features(fake_features, "fake features")
    check_same_dim(real, fake)
    check_min_samples(len(real), max(k_pr, k_dc) + 1, "precision/recall/density/coverage", "real")
    check_min_samples(len(fake), k_pr + 1, "precision/recall", "fake")
    real_radii = kth_neighbour_sq_distances(real, (k_pr, k_dc), block_size, dtype)
    fake_radius = kth_neighbour_sq_distances(fake, (k_pr,), block_size, dtype)[k_pr]
    r_pr, r_dc = real_radii[k_pr], real_radii[k_dc]

    fake_in_real = np.zeros(len(fake), dtype=bool)
    real_in_fake = np.zeros(len(real), dtype=bool)
    fake_ball_count = np.zeros(len(fake), dtype=np.int64)
    nearest_fake = np.full(len(real), np.inf)
    for i, j, tile in squared_distance_tiles(real, fake, block_size, dtype=dtype):
        rows, cols = slice(i, i + tile.shape[0]), slice(j, j + tile.shape[1])
        fake_in_real[cols] |= (tile < r_pr[rows, None]).any(axis=0)
        fake_ball_count[cols] += (tile < r_dc[rows, None]).sum(axis=0)
        real_in_fake[rows] |= (tile < fake_radius[None, cols]).any(axis=1)
        np.minimum(nearest_fake[rows], tile.min(axis=1), out=nearest_fake[rows])
    return {
        "precision": float(fake_in_real.mean()),
        "recall": float(real_in_fake.mean()),
        "density": float(fake_ball_count.mean() / k_dc),
        "coverage": float((nearest_fake < r_dc).mean()),
        "metric": "precision_recall_density_coverage",
        **source.describe(),
        "k_precision_recall": k_pr,
        "k_density_coverage": k_dc,
        "n_real": len(real),
        "n_fake": len(fake),
        "feature_dim": real.shape[1],
    }


class FeatureSetMetric(FeatureMetric):
    """A metric whose state is the real and generated feature sets themselves (KID, PRDC, RBF-MMD):
    ``update(features, real=...)`` appends a batch, merging concatenates, and ``compute()`` calls the
    functional twin ``function(real, fake, source=..., **options)`` on the whole sets."""

    function: ClassVar[Any] = None
    states = {"real": State(merge="cat"), "fake": State(merge="cat")}

    def update(self, features: Any, real: bool) -> None:
        x = as_features(features)
        known = self.real + self.fake
        if known and known[0].shape[1] != x.shape[1]:
            raise DataError(
                f"features have {x.shape[1]} dimensions but earlier batches had {known[0].shape[1]}: "
                "every batch must come from the same extractor"
            )
        (self.real if real else self.fake).append(x)

    def compute(self) -> dict[str, Any]:
        real, fake = (
            np.concatenate(parts) if parts else np.zeros((0, 0)) for parts in (self.real, self.fake)
        )
        return type(self).function(real, fake, source=self.source, **self.options.model_dump())


@register_metric(
    "prdc",
    kind="feature-set",
    function=precision_recall_density_coverage,
    summary="improved precision/recall (k=3) and density/coverage (k=5)",
)
class PrecisionRecallDensityCoverage(FeatureSetMetric):
    """Streaming :func:`precision_recall_density_coverage`: ``PrecisionRecallDensityCoverage(k_pr=3,
    k_dc=5, block_size=2048, dtype="float64", source=...)``; the k-NN pass runs in ``compute()``."""

    name = "precision_recall_density_coverage"
    options_class = PRDCOptions
    function = staticmethod(precision_recall_density_coverage)

"""Curves thinned for drawing: at most ``n_out`` points that keep a curve's shape, spikes included.

A 100k-step loss curve has far more points than a screen has pixels; sending all of them to a browser
costs bandwidth and drawing time and shows nothing more. ``tsdownsample``'s MinMaxLTTB (Van Der Donckt
et al., 2023, "MinMaxLTTB: Leveraging MinMax-Preprocessing to Speed-up LTTB") picks the points that keep
the visual shape, in Rust, in about a millisecond for 100k points; it is imported only when a curve is
longer than the budget.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from genforge.core.errors import ConfigError

MIN_POINTS = 3


def downsample_curve(
    steps: Sequence[float], values: Sequence[float], n_out: int
) -> tuple[list[float], list[float]]:
    """``(steps, values)`` reduced to at most ``n_out`` points (the first and last kept), ordered by
    step; unchanged when already short enough."""
    if n_out < MIN_POINTS:
        raise ConfigError(f"a curve needs at least {MIN_POINTS} points to draw, got {n_out}")
    if len(steps) != len(values):
        raise ConfigError(f"a curve needs as many steps as values ({len(steps)} vs {len(values)})")
    if len(values) <= n_out:
        return list(steps), list(values)
    from tsdownsample import MinMaxLTTBDownsampler

    x = np.asarray(steps, dtype=np.float64)
    y = np.asarray(values, dtype=np.float64)
    if np.any(np.diff(x) < 0):  # the downsampler reads x as sorted
        order = np.argsort(x, kind="stable")
        x, y = x[order], y[order]
    index = MinMaxLTTBDownsampler().downsample(x, y, n_out=n_out)
    return x[index].tolist(), y[index].tolist()

"""The metric protocol shared by every genforge metric, and input validation for feature arrays.

A :class:`Metric` accumulates a state with ``update(...)``, turns it into a self-describing result dict
with ``compute()``, clears it with ``reset()`` and combines the state of another instance of the same
metric with ``merge(other)`` (so workers can each see part of the data and one process combines them).
``state_dict()`` / ``load_state_dict()`` turn the state into plain numpy arrays for shipping between
processes (numbers, or strings for string labels and texts; never pickled objects). Every metric also has a plain function (its
"functional twin") that computes the same result in one call.

Results carry where the features came from: the extractor's name and SHA-256 (see
:class:`FeatureSource`) and the sample counts, so a number is never reported without its N.
This module needs numpy only.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self

import numpy as np

from genforge.core.errors import ConfigError, DataError


@dataclass(frozen=True)
class FeatureSource:
    """Where features came from: an extractor name (``digits``, ``inception``, ``pixels``, ``random-cnn``,
    or ``precomputed`` for features a user supplies) and the SHA-256 of its weights/definition."""

    name: str = "precomputed"
    sha256: str | None = None

    def describe(self) -> dict[str, Any]:
        return {"extractor": self.name, "extractor_sha256": self.sha256}


PRECOMPUTED = FeatureSource()


def metric_label(metric: str, source: FeatureSource) -> str:
    """The key a value is reported under: FID/KID/IS only for the Inception extractor.

    ``fd`` with Inception features is ``fid``; with the digits CNN it is ``fd_digits`` (never "fid"), with
    user features plain ``fd``. Likewise ``kid`` / ``kd_<extractor>`` and ``is`` / ``is_<extractor>``.
    """
    if source.name == "inception":
        return {"fd": "fid", "kd": "kid", "is": "is"}.get(metric, metric)
    if source.name == "precomputed":
        return metric
    return f"{metric}_{source.name.replace('-', '_')}"


class Metric:
    """Base of all metrics: accumulate with ``update``, report with ``compute``.

    Subclasses implement ``update``, ``compute``, ``reset``, ``_merge_state`` and the state conversion
    ``state_dict`` / ``load_state_dict``; ``merge`` checks the other object's type and settings first.
    """

    name: str = "metric"

    def update(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def compute(self) -> dict[str, Any]:
        raise NotImplementedError

    def reset(self) -> None:
        raise NotImplementedError

    def settings(self) -> dict[str, Any]:
        """Settings that must agree for two states to be merged (e.g. ``k``, the extractor)."""
        return {}

    def merge(self, other: Self) -> Self:
        """Add ``other``'s accumulated state into this one (in place) and return ``self``."""
        if type(other) is not type(self):
            raise ConfigError(f"cannot merge a {type(other).__name__} state into a {type(self).__name__}")
        if other.settings() != self.settings():
            raise ConfigError(
                f"cannot merge {self.name} states with different settings: {self.settings()} vs {other.settings()}"
            )
        self._merge_state(other)
        return self

    def _merge_state(self, other: Self) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def load_state_dict(self, state: dict[str, np.ndarray]) -> Self:
        raise NotImplementedError


def to_numpy(x: Any) -> np.ndarray:
    """numpy array from a numpy array, a torch tensor (any device, detached) or a nested list."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def as_features(x: Any, what: str = "features") -> np.ndarray:
    """Validate a feature batch and return it as float64 ``(N, D)``.

    A 1-D array is read as ``N`` one-dimensional features. Non-finite values are refused.
    """
    arr = to_numpy(x)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise DataError(f"{what} must be a 2-D array (N, D), got shape {tuple(arr.shape)}")
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise DataError(f"{what} must be real numbers, got dtype {arr.dtype}")
    arr = np.asarray(arr, dtype=np.float64)
    if arr.size and not np.isfinite(arr).all():
        raise DataError(f"{what} contain NaN or infinite values")
    return arr


def check_same_dim(a: np.ndarray, b: np.ndarray, what_a: str = "real", what_b: str = "fake") -> None:
    if a.shape[1] != b.shape[1]:
        raise DataError(
            f"{what_a} features have {a.shape[1]} dimensions but {what_b} features have {b.shape[1]}: "
            "both sets must come from the same extractor"
        )


def check_min_samples(n: int, minimum: int, metric: str, what: str) -> None:
    if n < minimum:
        raise DataError(f"{metric} needs at least {minimum} {what} samples, got {n}")


def bind_options(
    function: Callable[..., Any], metric: str, supplied: tuple[str, ...], **options: Any
) -> dict[str, Any]:
    """``options`` checked against ``function``'s signature, with its defaults filled in.

    A streaming metric class keeps the keyword options of its functional twin and passes them on in
    ``compute()``; ``supplied`` names the parameters the class fills itself (the data, the source), which
    are not options. An unknown or duplicated option is a :class:`ConfigError` naming it.
    """
    try:
        bound = inspect.signature(function).bind_partial(**options)
    except TypeError as exc:
        raise ConfigError(f"{metric}: {exc}") from None
    taken = [name for name in supplied if name in bound.arguments]
    if taken:
        raise ConfigError(f"{metric}: {', '.join(taken)} cannot be given as an option")
    parameters = {
        name: p
        for name, p in inspect.signature(function).parameters.items()
        if name not in supplied and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }
    missing = [n for n, p in parameters.items() if p.default is p.empty and n not in bound.arguments]
    if missing:
        raise ConfigError(f"{metric} needs {', '.join(missing)} (no default: give it explicitly)")
    defaults = {n: p.default for n, p in parameters.items() if p.default is not p.empty}
    return {**defaults, **bound.arguments}

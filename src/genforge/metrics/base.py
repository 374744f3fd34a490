"""The metric protocol shared by every genforge metric: declared options, declared streaming state.

A :class:`Metric` accumulates a state with ``update(...)``, turns it into a self-describing result dict
with ``compute()``, clears it with ``reset()`` and combines the state of another instance of the same
metric with ``merge(other)`` (workers each see part of the data; one process combines them).
``state_dict()`` / ``load_state_dict()`` turn the state into plain numpy arrays (numbers, or strings for
labels and texts; never pickled objects).

A metric writes none of that plumbing itself. It declares, as class attributes,

* ``options_class``: a pydantic :class:`Options` config with the keyword options of the metric and its
  functional twin (defaults, bounds and a one-line description each; the CLI's flags come from it), and
* ``states``: ``{name: State(...)}``, each with an initial value and a merge rule (as torchmetrics'
  ``add_state``): ``"sum"`` adds numbers, ``"cat"`` keeps batches and concatenates them, ``"merge"``
  holds an object with its own exact ``merge`` (running moments, confusion counts),

and :class:`Metric` derives ``__init__`` (options validated), ``reset``, ``merge`` (types and settings
checked first), ``state_dict`` and ``load_state_dict`` from them.

Results carry where the features came from (:class:`FeatureSource`: the extractor's name and SHA-256)
and their sample counts, so a number is never reported without its N. Needs numpy and pydantic only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np

from genforge.core.config import Config
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


class Options(Config):
    """Keyword options of one metric (pydantic, unknown keys refused).

    ``speed_only`` names options that change how fast, not what, a metric computes: they are not
    settings two merged states must share, and results do not report them.
    """

    speed_only: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def parse(cls, values: Mapping[str, Any] | None, metric: str) -> Self:
        """Validated options, or a one-line :class:`ConfigError` naming the option and the metric."""
        values = dict(values or {})
        unknown = [key for key in values if key not in cls.model_fields]
        if unknown:
            known = ", ".join(cls.model_fields) or "none"
            raise ConfigError(f"{metric} has no option '{unknown[0]}' (its options: {known})")
        missing = [n for n, f in cls.model_fields.items() if f.is_required() and n not in values]
        if missing:
            raise ConfigError(f"{metric} needs {', '.join(missing)} (no default: give it explicitly)")
        return cls.build(values, where=f"{metric} option")

    def for_sizes(self, n_real: int, n_fake: int) -> Self:
        """These options fitted to sets of ``n_real`` and ``n_fake`` samples (``genforge eval`` scores
        whatever N a run has; KID shrinks its subsets). Most metrics need no change."""
        return self

    def settings(self) -> dict[str, Any]:
        """The options that decide the value (tuples as lists, so results are plain JSON)."""
        return {
            name: list(value) if isinstance(value, tuple) else value
            for name, value in self.model_dump().items()
            if name not in self.speed_only
        }


class NoOptions(Options):
    """For metrics without options."""


@dataclass(frozen=True)
class State:
    """One part of a metric's streaming state: its initial value and how two workers' values merge.

    ``merge="sum"``: ``initial`` is a number; values add. ``merge="cat"``: a list of batches (arrays),
    concatenated in order by ``state_dict``. ``merge="merge"``: ``initial`` is a class whose instances
    have ``merge(other)``, ``to_arrays(prefix)`` and ``from_arrays(arrays, prefix)``.
    """

    initial: Any = 0
    merge: str = "sum"

    def __post_init__(self) -> None:
        if self.merge not in ("sum", "cat", "merge"):
            raise ValueError(f"State merge rule must be sum, cat or merge, got {self.merge!r}")

    def fresh(self) -> Any:
        if self.merge == "cat":
            return []
        return self.initial() if self.merge == "merge" else self.initial

    def combine(self, mine: Any, theirs: Any, name: str) -> Any:
        if self.merge == "sum":
            return mine + theirs
        if self.merge == "merge":
            return mine.merge(theirs)
        if mine and theirs and np.shape(mine[0])[1:] != np.shape(theirs[0])[1:]:
            raise DataError(
                f"cannot merge {name} batches of shape {np.shape(theirs[0])[1:]} into batches of shape "
                f"{np.shape(mine[0])[1:]}: both states must come from the same data"
            )
        return [*mine, *theirs]

    def to_arrays(self, name: str, value: Any) -> dict[str, np.ndarray]:
        if self.merge == "merge":
            return value.to_arrays(f"{name}.")
        if self.merge == "cat":
            return {name: np.concatenate(value) if value else np.zeros(0)}
        return {name: np.asarray(value)}

    def from_arrays(self, name: str, arrays: Mapping[str, np.ndarray]) -> Any:
        if self.merge == "merge":
            return self.initial.from_arrays(arrays, f"{name}.")
        if name not in arrays:
            raise DataError(f"the saved metric state has no '{name}' array")
        if self.merge == "cat":
            return [np.asarray(arrays[name])] if len(arrays[name]) else []
        return type(self.initial)(np.asarray(arrays[name]).item())


class Metric:
    """Base of all metrics: accumulate with ``update``, report with ``compute``; see the module docstring.

    Subclasses write ``update`` and ``compute`` and declare ``name`` (the result key), ``options_class``
    and ``states``; they reach their options as ``self.options`` and their states as attributes.
    """

    name: ClassVar[str] = "metric"
    options_class: ClassVar[type[Options]] = NoOptions
    states: ClassVar[dict[str, State]] = {}

    def __init__(self, **options: Any) -> None:
        self.options = self.options_class.parse(options, self.name)
        self.reset()

    def update(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def compute(self) -> dict[str, Any]:
        raise NotImplementedError

    def reset(self) -> None:
        for name, state in self.states.items():
            setattr(self, name, state.fresh())

    def settings(self) -> dict[str, Any]:
        """Settings that must agree for two states to be merged (e.g. ``k``, the extractor)."""
        return self.options.settings()

    def merge(self, other: Self) -> Self:
        """Add ``other``'s accumulated state into this one (in place) and return ``self``."""
        if type(other) is not type(self):
            raise ConfigError(f"cannot merge a {type(other).__name__} state into a {type(self).__name__}")
        if other.settings() != self.settings():
            raise ConfigError(
                f"cannot merge {self.name} states with different settings: {self.settings()} vs {other.settings()}"
            )
        for name, state in self.states.items():
            setattr(self, name, state.combine(getattr(self, name), getattr(other, name), name))
        return self

    def state_dict(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for name, state in self.states.items():
            out.update(state.to_arrays(name, getattr(self, name)))
        return out

    def load_state_dict(self, arrays: Mapping[str, np.ndarray]) -> Self:
        for name, state in self.states.items():
            setattr(self, name, state.from_arrays(name, arrays))
        return self


class FeatureMetric(Metric):
    """A metric of features or logits that records where they came from (``source``) in its results;
    two states merge only when they came from the same extractor."""

    def __init__(self, source: FeatureSource = PRECOMPUTED, **options: Any) -> None:
        self.source = source
        super().__init__(**options)

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), **self.source.describe()}


# validation of feature arrays ---------------------------------------------------------------------
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


def one_shot(metric: Metric, *data: Any) -> dict[str, Any]:
    """A functional twin's body: one ``update`` with all the data, then ``compute``."""
    metric.update(*data)
    return metric.compute()

"""Reversible encoding of a raw table for the neural synthesizers (TVAE, CTGAN).

Continuous columns get *mode-specific normalisation* (Xu et al. 2019, CTGAN section 4.2): a Bayesian
Gaussian mixture (scikit-learn's ``BayesianGaussianMixture``, Dirichlet-process prior, at most 10 modes;
modes with weight under 0.005 are dropped) is fitted on the column; each value becomes a one-hot of the
mode it was drawn from (sampled from the posterior with a fixed seed) and ``alpha = (x - mu_k) / (4
sigma_k)`` clipped to ``[-0.99, 0.99]``. Discrete columns are one-hot (missing is a category). A numeric
column with missing cells gets a 2-way "present / missing" one-hot beside it, so missing rates are
learned and reproduced. On the way back values are clipped to the training range and rounded when every
training value was an integer (``fit_range``); the output has the same decimals as the input.

The layout is a list of *spans* ``(start, width, kind)`` with kind ``alpha`` (one tanh value) or
``softmax`` (a one-hot group); the network heads (:mod:`genforge.nn.table_heads`) read it. The whole
fitted state is JSON (``to_dict``/``from_dict``): a run keeps it so that it rebuilds identical data.
We wrote this ourselves because SDV's RDT, the usual home of this transform, is BUSL-1.1.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from genforge.core.errors import DataError

logger = logging.getLogger(__name__)
MAX_MODES = 10
MIN_MODE_WEIGHT = 0.005
FIT_ROWS = 5000  # rows the mixture is fitted on (a seeded subset): the modes settle well before this
CLIP = 0.99


@dataclass
class ColumnSpec:
    """How one column is encoded: ``numeric`` (modes + alpha) or ``categorical`` (one-hot)."""

    name: str
    kind: str
    categories: list[str] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)  # training rows per category
    means: list[float] = field(default_factory=list)
    stds: list[float] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)  # mixture weight of each mode
    has_missing: bool = False
    low: float = 0.0
    high: float = 0.0
    integer: bool = False
    decimals: int = 0

    @property
    def width(self) -> int:
        if self.kind == "categorical":
            return len(self.categories)
        return 1 + len(self.means) + (2 if self.has_missing else 0)


def format_numbers(values: np.ndarray, integer: bool, decimals: int) -> np.ndarray:
    """Numbers as the strings a CSV cell holds: integers without a point, else ``decimals`` places."""
    if integer:
        return np.array([str(int(v)) for v in np.round(values)], dtype=object)
    return np.array([f"{v:.{decimals}f}" for v in values], dtype=object)


def numeric_facts(present: np.ndarray) -> tuple[float, float, bool, int]:
    """(low, high, integer, decimals) of a column's present cells (strings)."""
    numbers = present.astype(np.float64)
    integer = bool(np.all(numbers == np.round(numbers)))
    decimals = max((len(v.split(".")[1]) for v in present[:2000] if "." in v), default=0)
    return float(numbers.min()), float(numbers.max()), integer, min(decimals, 6)


def usable_columns(columns: dict[str, np.ndarray], types: dict[str, str]) -> tuple[list[str], list[str]]:
    """The columns a synthesizer can learn, and warnings for the ones it drops (ids, all missing)."""
    keep, warnings = [], []
    for name, values in columns.items():
        if types.get(name) == "id":
            warnings.append(
                f"column '{name}' looks like an identifier (a distinct value in most rows): dropped"
            )
        elif len(values) and (values == "").all():
            warnings.append(f"column '{name}' is missing in every row: dropped")
        else:
            keep.append(name)
    if not keep:
        raise DataError("the table has no column a synthesizer can learn (all identifiers or all missing)")
    return keep, warnings


class TableTransform:
    """Fit on raw columns (``name -> str array``, missing ``""``); ``transform`` to a float matrix and
    ``inverse`` back to raw columns. Constructor stores settings, :meth:`fit` learns ``columns_``."""

    def __init__(self, seed: int = 0, max_modes: int = MAX_MODES) -> None:
        self.seed = seed
        self.max_modes = max_modes
        self.columns_: list[ColumnSpec] = []

    # -- fitting ------------------------------------------------------------------------------------
    def fit(self, columns: dict[str, np.ndarray], types: dict[str, str]) -> TableTransform:
        names, warnings = usable_columns(columns, types)
        for message in warnings:
            logger.warning("warning: %s", message)
        if len(next(iter(columns.values()))) < 2:
            raise DataError("a synthesizer needs a table of at least 2 rows")
        self.columns_ = [self._fit_column(name, columns[name], types[name]) for name in names]
        return self

    def _fit_column(self, name: str, values: np.ndarray, kind: str) -> ColumnSpec:
        present = values[values != ""]
        if kind != "numeric" or len(set(present[:5000].tolist())) < 2:
            categories, counts = np.unique(values.astype(str), return_counts=True)
            return ColumnSpec(name, "categorical", categories=categories.tolist(), counts=counts.tolist())
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.mixture import BayesianGaussianMixture

        low, high, integer, decimals = numeric_facts(present)
        numbers = present.astype(np.float64)
        rng = np.random.default_rng([self.seed, 1])
        fit_on = numbers if len(numbers) <= FIT_ROWS else rng.choice(numbers, FIT_ROWS, replace=False)
        mixture = BayesianGaussianMixture(
            n_components=min(self.max_modes, len(set(fit_on.tolist()))),
            weight_concentration_prior_type="dirichlet_process",
            weight_concentration_prior=0.001,
            max_iter=100,
            random_state=self.seed,
        )
        with warnings.catch_warnings():  # 100 EM steps is CTGAN's setting; the modes are usable unconverged
            warnings.simplefilter("ignore", ConvergenceWarning)
            mixture.fit(fit_on.reshape(-1, 1))
        keep = mixture.weights_ > MIN_MODE_WEIGHT
        means = mixture.means_.reshape(-1)[keep]
        # a mode on one repeated value (capital_gain's zeros) has the mixture's regularised std (about
        # 1e-3): it stays that narrow, so the value comes back exactly
        stds = np.sqrt(mixture.covariances_.reshape(-1))[keep]
        weights = mixture.weights_[keep] / mixture.weights_[keep].sum()
        return ColumnSpec(
            name, "numeric", means=means.tolist(), stds=stds.tolist(), weights=weights.tolist(),
            has_missing=bool((values == "").any()), low=low, high=high, integer=integer, decimals=decimals,
        )  # fmt: skip

    # -- layout -------------------------------------------------------------------------------------
    @property
    def width(self) -> int:
        return sum(c.width for c in self.columns_)

    def spans(self) -> list[tuple[int, int, str]]:
        """``(start, width, kind)`` of each output group, kind ``alpha`` or ``softmax``."""
        out, start = [], 0
        for column in self.columns_:
            if column.kind == "categorical":
                out.append((start, column.width, "softmax"))
            else:
                out.append((start, 1, "alpha"))
                out.append((start + 1, len(column.means), "softmax"))
                if column.has_missing:
                    out.append((start + 1 + len(column.means), 2, "softmax"))
            start += column.width
        return out

    def discrete_spans(self) -> list[dict[str, Any]]:
        """The categorical columns' one-hot groups (what a conditional vector picks from)."""
        out, start = [], 0
        for column in self.columns_:
            if column.kind == "categorical":
                out.append({"column": column.name, "start": start, "categories": column.categories,
                            "counts": column.counts})  # fmt: skip
            start += column.width
        return out

    # -- forward / inverse --------------------------------------------------------------------------
    def transform(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        """``(rows, width)`` float32 matrix of the raw ``columns`` (unseen categories are all-zero)."""
        missing = [c.name for c in self.columns_ if c.name not in columns]
        if missing:
            raise DataError(
                f"the table lacks the column(s) {', '.join(missing)} the synthesizer was fitted on"
            )
        rng = np.random.default_rng([self.seed, 2])
        parts = []
        for column in self.columns_:
            values = columns[column.name]
            if column.kind == "categorical":
                cats = np.array(column.categories, dtype=object)
                parts.append((values[:, None] == cats[None, :]).astype(np.float32))
                continue
            parts.append(self._encode_numeric(column, values, rng))
        return np.concatenate(parts, axis=1)

    def _encode_numeric(self, column: ColumnSpec, values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        present = values != ""
        numbers = np.where(present, values, "nan").astype(np.float64)
        means, stds = np.array(column.means), np.array(column.stds)
        filled = np.where(present, numbers, means[0])[:, None]
        # posterior of each mode (the mixture's weights and Gaussians): draw the mode the value came from
        weights = np.array(column.weights) if column.weights else np.ones(len(means))
        log_p = -0.5 * ((filled - means) / stds) ** 2 - np.log(stds) + np.log(weights)
        probs = np.exp(log_p - log_p.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        modes = (rng.random((len(values), 1)) > probs.cumsum(axis=1)).sum(axis=1)
        modes = np.minimum(modes, len(means) - 1)
        alpha = np.clip((filled[:, 0] - means[modes]) / (4 * stds[modes]), -CLIP, CLIP)
        block = [alpha[:, None], np.eye(len(means), dtype=np.float32)[modes]]
        if column.has_missing:
            block.append(np.stack([present, ~present], axis=1))
        return np.concatenate(block, axis=1).astype(np.float32)

    def inverse(self, matrix: np.ndarray) -> dict[str, np.ndarray]:
        """Raw columns (str arrays, ``""`` for missing) from a ``(rows, width)`` matrix whose one-hot
        groups may be soft: the largest entry of each group wins."""
        out, start = {}, 0
        for column in self.columns_:
            block = matrix[:, start : start + column.width]
            start += column.width
            if column.kind == "categorical":
                out[column.name] = np.array(column.categories, dtype=object)[block.argmax(axis=1)]
                continue
            k = len(column.means)
            modes = block[:, 1 : 1 + k].argmax(axis=1)
            alpha = np.clip(block[:, 0], -1.0, 1.0)
            numbers = alpha * 4 * np.array(column.stds)[modes] + np.array(column.means)[modes]
            numbers = np.clip(numbers, column.low, column.high)
            text = format_numbers(numbers, column.integer, column.decimals)
            if column.has_missing:
                text[block[:, 1 + k : 3 + k].argmax(axis=1) == 1] = ""
            out[column.name] = text
        return out

    # -- persistence --------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "max_modes": self.max_modes, "columns": [vars(c) for c in self.columns_]}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> TableTransform:
        transform = cls(seed=state["seed"], max_modes=state["max_modes"])
        transform.columns_ = [ColumnSpec(**c) for c in state["columns"]]
        return transform

"""Gaussian copula synthesizer: the fast baseline beside TVAE and CTGAN.

Each column is mapped to a standard normal score through its own marginal: a numeric column through its
empirical CDF (mid-ranks, ``u = (rank - 0.5) / n``), a categorical column by giving each category an
interval of ``[0, 1]`` as wide as its frequency (most frequent first) and drawing ``u`` uniformly inside it
(the "frequency encoding" of SDV's copulas, redone here because SDV is BUSL-1.1). The normal scores'
correlation matrix is the copula. Sampling draws multivariate normals, maps them through the normal CDF
and back through each marginal: numeric columns by interpolating 512 stored quantiles (clipped to the
training range, rounded when the column is integer), categories by their intervals. A numeric column
with missing cells adds a ``present/missing`` variable to the copula, so missing rates and the
dependence of missingness on other columns are kept. The fitted state is JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from genforge.core.errors import DataError
from genforge.data.table_transform import format_numbers, numeric_facts, usable_columns

QUANTILES = 512


@dataclass
class Marginal:
    """One copula variable: a numeric column's quantiles or a categorical's (categories, cumulative)."""

    name: str
    kind: str  # "numeric" | "categorical" | "missing" (the present/missing flag of a numeric column)
    quantiles: list[float] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    cumulative: list[float] = field(default_factory=list)
    low: float = 0.0
    high: float = 0.0
    integer: bool = False
    decimals: int = 0


def _normal_ppf(u: np.ndarray) -> np.ndarray:
    from scipy.special import ndtri

    return ndtri(np.clip(u, 1e-6, 1 - 1e-6))


def _categorical(name: str, values: np.ndarray, kind: str = "categorical") -> Marginal:
    cats, counts = np.unique(values, return_counts=True)
    order = np.lexsort((cats, -counts))  # most frequent first, ties by name: deterministic
    cumulative = np.cumsum(counts[order]) / counts.sum()
    return Marginal(name, kind, categories=cats[order].tolist(), cumulative=cumulative.tolist())


class GaussianCopula:
    """``fit(columns, types, seed)`` on raw columns; ``sample(n, rng)`` raw columns; ``to_dict``."""

    def __init__(self) -> None:
        self.marginals_: list[Marginal] = []
        self.columns_: list[str] = []
        self.correlation_: np.ndarray = np.zeros((0, 0))

    def fit(self, columns: dict[str, np.ndarray], types: dict[str, str], seed: int = 0) -> GaussianCopula:
        names, _ = usable_columns(columns, types)
        rows = len(columns[names[0]])
        if rows < 2:
            raise DataError("a synthesizer needs a table of at least 2 rows")
        rng = np.random.default_rng([seed, 0x636F70])  # its own stream, never a caller's data stream
        scores = []
        for name in names:
            values = columns[name]
            present = values != ""
            if types[name] != "numeric" or len(set(values[present][:5000].tolist())) < 2:
                marginal = _categorical(name, values)
                self.marginals_.append(marginal)
                scores.append(self._categorical_scores(marginal, values, rng))
                continue
            from scipy.stats import rankdata

            numbers = values[present].astype(np.float64)
            low, high, integer, decimals = numeric_facts(values[present])
            probs = np.linspace(0, 1, QUANTILES)
            marginal = Marginal(name, "numeric", quantiles=np.quantile(numbers, probs).tolist(),
                                low=low, high=high, integer=integer, decimals=decimals)  # fmt: skip
            self.marginals_.append(marginal)
            z = np.zeros(rows)
            z[present] = _normal_ppf((rankdata(numbers) - 0.5) / len(numbers))
            scores.append(z)
            if not present.all():
                flag = _categorical(name, np.where(present, "present", "missing"), kind="missing")
                self.marginals_.append(flag)
                scores.append(self._categorical_scores(flag, np.where(present, "present", "missing"), rng))
        self.columns_ = names
        matrix = np.corrcoef(np.stack(scores, axis=1), rowvar=False).reshape(len(scores), len(scores))
        self.correlation_ = _nearest_correlation(np.nan_to_num(matrix, nan=0.0))
        return self

    @staticmethod
    def _categorical_scores(marginal: Marginal, values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        upper = dict(zip(marginal.categories, marginal.cumulative, strict=True))
        lower = dict(zip(marginal.categories, [0.0, *marginal.cumulative[:-1]], strict=True))
        a = np.array([lower[v] for v in values])
        b = np.array([upper[v] for v in values])
        return _normal_ppf(a + (b - a) * rng.random(len(values)))

    def sample(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        from scipy.special import ndtr

        dims = len(self.marginals_)
        z = rng.multivariate_normal(np.zeros(dims), self.correlation_, size=n, method="cholesky")
        u = ndtr(z)
        out: dict[str, np.ndarray] = {}
        for i, marginal in enumerate(self.marginals_):
            if marginal.kind == "numeric":
                numbers = np.interp(u[:, i], np.linspace(0, 1, QUANTILES), marginal.quantiles)
                numbers = np.clip(numbers, marginal.low, marginal.high)
                out[marginal.name] = format_numbers(numbers, marginal.integer, marginal.decimals)
                continue
            index = np.searchsorted(np.array(marginal.cumulative), u[:, i], side="right")
            drawn = np.array(marginal.categories, dtype=object)[
                np.minimum(index, len(marginal.categories) - 1)
            ]
            if marginal.kind == "missing":
                out[marginal.name][drawn == "missing"] = ""
            else:
                out[marginal.name] = drawn
        return {name: out[name].astype(str) for name in self.columns_}

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": self.columns_,
            "marginals": [asdict(m) for m in self.marginals_],
            "correlation": self.correlation_.tolist(),
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> GaussianCopula:
        copula = cls()
        copula.columns_ = list(state["columns"])
        copula.marginals_ = [Marginal(**m) for m in state["marginals"]]
        copula.correlation_ = np.array(state["correlation"], dtype=np.float64)
        return copula


def _nearest_correlation(matrix: np.ndarray) -> np.ndarray:
    """The matrix with negative eigenvalues raised to a small floor and unit diagonal restored (a
    constant or duplicated column makes the sample correlation singular)."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    fixed = vectors @ np.diag(np.maximum(values, 1e-6)) @ vectors.T
    scale = np.sqrt(np.diag(fixed))
    return fixed / scale[:, None] / scale[None, :]

"""Distances between table rows of mixed type: what DCR, NNDR, the distance attack and ``impute`` use.

The distance of two rows is the mean over columns of a per-column distance in ``[0, 1]``: for a numeric
column ``min(|a - b| / (max - min), 1)`` over the reference table's range, 1 when exactly one of the two
cells is missing and 0 when both are; for a categorical column 0 when equal, else 1 (missing is a
category). This is the distance of SDMetrics' ``calculate_dcr`` (checked against it on golden values).
Categorical mismatches are one matrix product of one-hot codes, numeric columns one broadcast each, in
chunks of rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

CHUNK = 256


@dataclass
class RowCodes:
    """A table's rows as numeric values scaled by range (missing as 0) and one-hot blocks; missing
    numeric cells are a one-hot ``present/missing`` pair so that a half-missing pair costs 1."""

    numeric: torch.Tensor  # (rows, numeric columns)
    onehot: torch.Tensor  # (rows, total categories)


@dataclass
class MixedDistance:
    """Fitted on the reference rows: numeric ranges and categories of each column."""

    columns: list[str]
    types: dict[str, str]
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    categories: dict[str, list[str]] = field(default_factory=dict)

    def fit(self, table: dict[str, np.ndarray]) -> MixedDistance:
        for name in self.columns:
            values = table[name]
            present = values[values != ""]
            if self.types[name] == "numeric" and len(present):
                numbers = present.astype(np.float64)
                self.ranges[name] = (float(numbers.min()), float(numbers.max()))
            else:
                self.categories[name] = sorted(set(values.tolist()))
        return self

    def encode(self, table: dict[str, np.ndarray], rows: np.ndarray | None = None) -> RowCodes:
        numeric, onehot = [], []
        for name in self.columns:
            values = table[name] if rows is None else table[name][rows]
            if name in self.ranges:
                low, high = self.ranges[name]
                present = values != ""
                numbers = np.where(present, values, "nan").astype(np.float64)
                numeric.append(np.where(present, (numbers - low) / max(high - low, 1e-12), 0.0))
                onehot.append(np.stack([present, ~present], axis=1).astype(np.float32))
            else:
                cats = np.array(self.categories[name], dtype=object)
                onehot.append((values[:, None] == cats[None, :]).astype(np.float32))
        n = len(table[self.columns[0]]) if rows is None else len(rows)
        num = np.stack(numeric, axis=1) if numeric else np.zeros((n, 0))
        return RowCodes(torch.as_tensor(num, dtype=torch.float64), torch.as_tensor(np.concatenate(onehot, 1)))

    @property
    def categorical_count(self) -> int:
        return len(self.categories)

    def pairwise(self, a: RowCodes, b: RowCodes) -> torch.Tensor:
        """(len(a), len(b)) distances: per numeric column min(|a - b| / range, 1) where both cells are
        present (a missing cell counts through its present/missing pair: one missing 1, both 0), plus
        the categorical mismatches, over the number of columns."""
        mismatch = (len(self.columns) - (a.onehot @ b.onehot.T).double()).clamp_min(0)
        present_a, present_b = 1.0 - self._missing(a), 1.0 - self._missing(b)
        for j in range(a.numeric.shape[1]):
            gap = (a.numeric[:, j, None] - b.numeric[None, :, j]).abs_().clamp_(max=1.0)
            mismatch += gap * present_a[:, j, None] * present_b[None, :, j]
        return mismatch / len(self.columns)

    def _missing(self, codes: RowCodes) -> torch.Tensor:
        """(rows, numeric columns) 1 where the numeric cell is missing."""
        flags, start = [], 0
        for name in self.columns:
            if name in self.ranges:
                flags.append(codes.onehot[:, start + 1])
                start += 2
            else:
                start += len(self.categories[name])
        return torch.stack(flags, 1).double() if flags else codes.numeric[:, :0]

    def nearest(self, a: RowCodes, b: RowCodes, k: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
        """Distances and indices ``(len(a), k)`` of each row of ``a``'s ``k`` nearest rows in ``b``."""
        dists, ids = [], []
        for start in range(0, len(a.onehot), CHUNK):
            part = RowCodes(a.numeric[start : start + CHUNK], a.onehot[start : start + CHUNK])
            d, i = self.pairwise(part, b).topk(k, dim=1, largest=False)
            dists.append(d)
            ids.append(i)
        return torch.cat(dists), torch.cat(ids)

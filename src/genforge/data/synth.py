"""``synth:TABLE`` datasets: a table (``adult``, ``actg175``, ``csv:PATH`` …) in the reversible encoding
the tabular synthesizers train on (:class:`~genforge.data.table_transform.TableTransform`).

The transform is fitted on the table's training split and kept in the run (``table_transform.json``), so a
resumed or reloaded run rebuilds exactly the same matrix. ``Dataset.extra`` carries the raw
:class:`~genforge.data.tabular.Table` and the transform for the tabular engine (sampling back to raw
columns, the quality report); the model only sees ``DataInfo.extra["spans"]`` (the output layout) and
``DataInfo.extra["discrete"]`` (the one-hot groups a conditional vector picks from).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from pydantic import Field

from genforge.core.config import Config
from genforge.core.errors import DataError
from genforge.core.io import atomic_write_json, read_json_object
from genforge.data import Dataset, register_dataset
from genforge.data.info import DataInfo
from genforge.data.table_transform import TableTransform
from genforge.data.tabular import Table, load_table

TRANSFORM_FILE = "table_transform.json"


class SynthOptions(Config):
    target: str | None = Field(None, description="target column (default: the dataset's)")
    positive: str | None = Field(None, description="value of the target that counts as positive")
    drop: list[str] = Field(default_factory=list, description="columns never synthesized (identifiers)")
    log: list[str] = Field(
        default_factory=list, description="positive numeric columns modelled as log(1 + x) (amounts)"
    )


def prepared_table(spec: str, options: SynthOptions) -> Table:
    """The table of ``spec`` with ``options.drop`` removed and ``options.log`` columns as log(1 + x)."""
    table = load_table(spec, target=options.target, positive=options.positive)
    unknown = [c for c in [*options.drop, *options.log] if c not in table.columns]
    if unknown:
        raise DataError(f"{spec} has no column(s) {', '.join(unknown)} (columns: {', '.join(table.columns)})")
    for name in options.drop:
        del table.columns[name]
        table.types.pop(name)
    for name in options.log:
        values = table.columns[name]
        if table.types[name] != "numeric":
            raise DataError(f"--log needs numeric columns; '{name}' is {table.types[name]}")
        numbers = np.where(values == "", "0", values).astype(np.float64)
        if (numbers < 0).any():
            raise DataError(
                f"column '{name}' has negative values ({numbers.min():g}): log(1 + x) needs x >= 0"
            )
        logged = np.array([f"{math.log1p(v):.6f}" for v in numbers], dtype=object)
        table.columns[name] = np.where(values == "", "", logged).astype(str)
    table.sensitive = [s for s in table.sensitive if s in table.columns]
    return table


def synth_factory(arg: str | None, options: SynthOptions, artifacts: Path | None) -> Dataset:
    if not arg:
        raise DataError("synth: needs a table: synth:adult, synth:actg175 or synth:csv:PATH.csv")
    table = prepared_table(arg, options)
    train = table.splits["train"]
    saved = artifacts / TRANSFORM_FILE if artifacts is not None else None
    if saved is not None and saved.exists():
        transform = TableTransform.from_dict(read_json_object(saved))
    else:
        transform = TableTransform().fit({k: v[train] for k, v in table.columns.items()}, table.types)
        if saved is not None:
            atomic_write_json(saved, transform.to_dict())
    splits = {
        name: {"x": torch.as_tensor(transform.transform({k: v[rows] for k, v in table.columns.items()}))}
        for name, rows in table.splits.items()
    }
    info = DataInfo(
        kind="table",
        shape=(transform.width,),
        extra={
            "spans": [list(s) for s in transform.spans()],
            "discrete": transform.discrete_spans(),
            "columns": [c.name for c in transform.columns_],
            "table": arg,
        },
    )
    return Dataset(
        spec=f"synth:{arg}", info=info, splits=splits, description=f"table {arg} for synthesizers",
        extra={"table": table.describe(), "raw_table": table, "transform": transform},
    )  # fmt: skip


register_dataset(
    "synth", options=SynthOptions, kind="table",
    help="a table encoded for the tabular synthesizers (mode-specific normalisation, one-hot)",
    examples=["synth:adult", "synth:actg175", "synth:csv:PATH.csv"],
)(synth_factory)  # fmt: skip

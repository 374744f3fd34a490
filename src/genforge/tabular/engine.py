"""The tabular synthesis engine: train a synthesizer on a table, sample it (conditionally), impute
missing cells with it. The Python API behind ``genforge tabular train|sample|impute``.

TVAE and CTGAN are model families trained by the one trainer on ``synth:TABLE`` data (so ``--seed``,
exact resume, DP-SGD — TVAE's whole model, CTGAN's critic with ``pac = 1`` — checkpoints and model cards
are the trainer's); the Gaussian copula is fitted in
one pass and kept as ``copula.json`` in a run directory of the same layout. Every run also holds
``tabular.json``: the method, the preset and what the sampler needs to give back the original columns
(log-modelled columns and their number format). :func:`load_synthesizer` returns one object whatever
the method, whose ``draw(n, seed)`` gives raw columns (strings; missing cells ``""``).
"""

from __future__ import annotations

import csv
import difflib
import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genforge import __version__
from genforge.core.errors import ConfigError, DataError
from genforge.core.io import atomic_write_json, atomic_write_text, read_json_object
from genforge.core.paths import check_output_dir, check_output_file
from genforge.core.runs import Run, new_run
from genforge.core.seed import make_generator
from genforge.data.synth import TRANSFORM_FILE, SynthOptions, prepared_table
from genforge.data.table_transform import TableTransform, format_numbers, numeric_facts
from genforge.data.tabular import load_table, read_csv
from genforge.pipelines.loading import as_run, load_run
from genforge.pipelines.training import train
from genforge.tabular.copula import GaussianCopula
from genforge.tabular.distance import MixedDistance
from genforge.tabular.presets import load_preset, resolve_columns

METHODS = ("tvae", "ctgan", "copula")
TABULAR_FILE = "tabular.json"
COPULA_FILE = "copula.json"
MAX_ROWS = 1_000_000
DRAW_BATCH = 10_000
Columns = dict[str, np.ndarray]


def train_synthesizer(
    method: str,
    data: str,
    *,
    preset: str | None = None,
    target: str | None = None,
    overrides: dict[str, Any] | None = None,
    out: str | Path = "runs",
    seed: int = 0,
    max_steps: int | None = None,
    max_minutes: float | None = None,
    progress: Callable | None = None,
) -> dict[str, Any]:
    """Train ``method`` (tvae, ctgan, copula) on table ``data`` (``adult``, ``csv:PATH`` …) into a new
    run; ``preset`` (healthcare, finance or a YAML path) drops identifiers, log-models amounts and turns
    DP on; ``target`` names the label column of a ``csv:`` table (for the report's ML efficacy);
    ``overrides`` are model/trainer keys (``{"dp_epsilon": 3}``). Returns a summary."""
    if method not in METHODS:
        raise ConfigError(f"unknown synthesizer '{method}' (available: {', '.join(METHODS)})")
    check_output_dir(out)
    chosen = load_preset(preset)
    table = load_table(data, target=target)
    drop, log = resolve_columns(chosen, table)
    options = SynthOptions(target=target, drop=drop, log=log)
    overrides = dict(overrides or {})
    if chosen.dp and method != "copula":
        overrides.setdefault("dp", True)
        if chosen.dp_epsilon is not None and "dp_noise_multiplier" not in overrides:
            overrides.setdefault("dp_epsilon", chosen.dp_epsilon)
    if overrides.get("dp") and method == "ctgan":  # DP clips one row at a time: no PacGAN packs
        overrides.setdefault("pac", 1)
    log_facts = {c: dict(zip(("integer", "decimals"), numeric_facts(_present(table.columns[c]))[2:], strict=True))
                 for c in log}  # fmt: skip
    record = {"method": method, "table": data, "preset": preset, "preset_values": chosen.model_dump(),
              "dropped": drop, "log_columns": log_facts, "sensitive": sorted({*table.sensitive, *chosen.sensitive})}  # fmt: skip
    if method == "copula":
        if overrides.get("dp"):
            raise ConfigError("the Gaussian copula has no DP training: use tvae or ctgan with --dp")
        if overrides:
            raise ConfigError(f"the copula takes no settings (got {', '.join(overrides)})")
        run = _fit_copula(data, options, out, seed)
        result: dict[str, Any] = {"run": run.id, "path": str(run.path), "status": "fitted", "step": 0}
    else:
        trained = train(method, f"synth:{data}", overrides=overrides, data_options=options.model_dump(),
                        out=out, seed=seed, max_steps=max_steps, max_minutes=max_minutes, progress=progress)  # fmt: skip
        run = trained.run
        result = {"run": run.id, "path": str(run.path), "status": trained.status, "step": trained.step,
                  "metrics": trained.metrics, "notes": trained.notes}  # fmt: skip
    atomic_write_json(run.artifact(TABULAR_FILE), record)
    return {"method": method, "table": data, "preset": preset, "dropped": drop, "log_columns": log, **result}


def _present(values: np.ndarray) -> np.ndarray:
    return values[values != ""]


def _fit_copula(data: str, options: SynthOptions, out: str | Path, seed: int) -> Run:
    table = prepared_table(data, options)
    train_rows = table.splits["train"]
    copula = GaussianCopula().fit(
        {k: v[train_rows] for k, v in table.columns.items()}, table.types, seed=seed
    )
    run = new_run(out, f"copula-{data.split(':')[0]}")
    atomic_write_json(run.artifact(COPULA_FILE), copula.to_dict())
    run.write_config({
        "family": "copula", "model": {}, "train": {},
        "data": {"spec": f"synth:{data}", "options": options.model_dump()},
        "data_info": {"kind": "table", "shape": [len(copula.columns_)], "extra": {"columns": copula.columns_}},
        "seed": seed, "parameters": int(copula.correlation_.size),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "versions": {"genforge": __version__},
    })  # fmt: skip
    return run


@dataclass
class Synthesizer:
    """A trained synthesizer: ``draw(n, seed)`` gives ``n`` raw rows as columns."""

    run: Run
    method: str
    record: dict[str, Any]
    columns: list[str]
    categories: dict[str, list[str]]  # the values a condition on a categorical column may take
    numeric: list[str]
    _draw: Callable[[int, int, tuple[str, str] | None], Columns]
    conditional: bool = False  # draws can be steered to one categorical value (CTGAN's conditional vector)

    def draw(self, n: int, seed: int, given: tuple[str, str] | None = None) -> Columns:
        """``n`` rows; ``given`` = (column, value) steers a conditional synthesizer towards that value
        (the rows are still checked: a generator does not always obey)."""
        given = given if self.conditional else None
        parts = [self._draw(min(DRAW_BATCH, n - start), seed * 1_000_003 + i, given)
                 for i, start in enumerate(range(0, n, DRAW_BATCH))]  # fmt: skip
        columns = {c: np.concatenate([p[c] for p in parts]) for c in self.columns}
        for name, facts in self.record.get("log_columns", {}).items():  # log(1 + x) back to x
            values = columns[name]
            present = values != ""
            numbers = np.expm1(np.where(present, values, "0").astype(np.float64))
            text = format_numbers(np.maximum(numbers, 0.0), facts["integer"], facts["decimals"])
            columns[name] = np.where(present, text, "").astype(str)
        return columns


def load_synthesizer(run: str | Path | Run) -> Synthesizer:
    """The synthesizer of a ``tabular train`` run, whatever its method."""
    run = as_run(run)
    if not run.artifact(TABULAR_FILE).is_file():
        raise ConfigError(f"run {run.id} is not a tabular synthesizer run (no {TABULAR_FILE}): train one "
                          "with 'genforge tabular train tvae|ctgan|copula --data TABLE'")  # fmt: skip
    record = read_json_object(run.artifact(TABULAR_FILE))
    if record["method"] == "copula":
        copula = GaussianCopula.from_dict(read_json_object(run.artifact(COPULA_FILE)))
        categories = {m.name: m.categories for m in copula.marginals_ if m.kind == "categorical"}
        numeric = [m.name for m in copula.marginals_ if m.kind == "numeric"]
        return Synthesizer(run, "copula", record, copula.columns_, categories, numeric,
                           lambda n, seed, given: copula.sample(n, np.random.default_rng(seed)))  # fmt: skip
    loaded = load_run(run, data=False)
    transform = TableTransform.from_dict(read_json_object(run.artifact(TRANSFORM_FILE)))
    model = loaded.model

    def draw(n: int, seed: int, given: tuple[str, str] | None) -> Columns:
        options = {"condition": model.condition_index(*given)} if given else {}
        with torch.no_grad():
            rows = model.sample(n, generator=make_generator(seed), **options)
        return transform.inverse(rows.numpy())

    categories = {c.name: c.categories for c in transform.columns_ if c.kind == "categorical"}
    numeric = [c.name for c in transform.columns_ if c.kind == "numeric"]
    names = [c.name for c in transform.columns_]
    conditional = record["method"] == "ctgan"
    return Synthesizer(run, record["method"], record, names, categories, numeric, draw, conditional)


def parse_condition(text: str | None, synth: Synthesizer) -> dict[str, str]:
    """``"sex=Female,income=>50K"`` -> ``{column: value}``, checked against the synthesizer's columns
    and categories (an unseen value lists the nearest valid ones)."""
    if not text:
        return {}
    condition = {}
    for part in text.split(","):
        column, sep, value = part.partition("=")
        column, value = column.strip(), value.strip()
        if not sep or not column:
            raise ConfigError(f"a condition is COLUMN=VALUE[,COLUMN=VALUE], got '{part}'")
        if column not in synth.columns:
            hint = difflib.get_close_matches(column, synth.columns, n=3)
            raise ConfigError(
                f"no column '{column}' to condition on"
                + (f" (did you mean {', '.join(hint)}?)" if hint else "")
            )
        if column not in synth.categories:
            raise ConfigError(f"conditions are on categorical columns; '{column}' is numeric")
        valid = synth.categories[column]
        if value not in valid:
            near = difflib.get_close_matches(value, valid, n=3, cutoff=0.3) or valid[:5]
            raise ConfigError(
                f"'{value}' never occurs in column '{column}'; nearest valid values: {', '.join(near)}"
            )
        condition[column] = value
    return condition


def sample_table(
    run: str | Path | Run,
    n: int,
    *,
    condition: str | None = None,
    out: str | Path | None = None,
    seed: int = 0,
    max_tries: int = 100,
) -> dict[str, Any]:
    """Draw ``n`` rows (meeting ``condition`` by rejection, at most ``max_tries`` x ``n`` draws) and write
    them as CSV to ``out`` (default ``RUN/samples/synthetic-seed<seed>.csv``). Returns a summary with
    the acceptance rate."""
    if not 1 <= n <= MAX_ROWS:
        raise ConfigError(f"-n must be between 1 and {MAX_ROWS:,}, got {n}")
    target = check_output_file(out, suffixes=(".csv",)) if out is not None else None
    synth = load_synthesizer(run)
    wanted = parse_condition(condition, synth)
    kept: list[Columns] = []
    count, drawn, attempt = 0, 0, 0
    while count < n and drawn < max_tries * n:
        batch = max(n - count, 1000) if wanted else n - count
        rows = synth.draw(batch, seed + attempt, next(iter(wanted.items()), None))
        attempt += 1
        drawn += batch
        mask = np.ones(batch, dtype=bool)
        for column, value in wanted.items():
            mask &= rows[column] == value
        kept.append({c: v[mask] for c, v in rows.items()})
        count += int(mask.sum())
    if count < n:
        raise DataError(f"the condition '{condition}' was met by {count} of {drawn:,} drawn rows "
                        f"(acceptance {count / drawn:.4%}), fewer than the {n} asked for: loosen it or raise --max-tries")  # fmt: skip
    table = {c: np.concatenate([k[c] for k in kept])[:n] for c in synth.columns}
    if target is None:
        synth.run.samples_dir.mkdir(parents=True, exist_ok=True)
        target = synth.run.samples_dir / f"synthetic-seed{seed}.csv"
    write_csv(target, table)
    return {"run": synth.run.id, "method": synth.method, "path": str(target), "rows": n, "drawn": drawn,
            "acceptance": count / drawn if wanted else 1.0, "condition": wanted}  # fmt: skip


def write_csv(path: Path, columns: Columns) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(list(columns))
    writer.writerows(zip(*columns.values(), strict=True))
    return atomic_write_text(path, buffer.getvalue())


def impute_table(
    run: str | Path | Run, path: str | Path, *, out: str | Path, seed: int = 0, pool: int = 20_000
) -> dict[str, Any]:
    """Fill the missing cells of CSV ``path`` from the synthesizer: each incomplete row takes the missing
    values of the synthetic row (of ``pool`` drawn) nearest to it on its observed cells (Gower
    distance) among those that have the cells it lacks. Writes ``out``; returns counts per column."""
    target = check_output_file(out, suffixes=(".csv",))
    synth = load_synthesizer(run)
    table = read_csv(path, min_rows=1)
    lacking = [c for c in synth.columns if c not in table]
    if lacking:
        raise DataError(f"{path} lacks the column(s) {', '.join(lacking)} the synthesizer was trained on")
    columns = synth.columns
    candidates = synth.draw(pool, seed)
    types = {c: "numeric" if c in synth.numeric else "categorical" for c in columns}
    missing = np.stack([table[c] == "" for c in columns], axis=1)
    filled = {c: table[c].copy() for c in table}
    counts = {c: 0 for c in columns}
    for pattern in np.unique(missing[missing.any(axis=1)], axis=0):
        rows = np.where((missing == pattern).all(axis=1))[0]
        need = [c for c, m in zip(columns, pattern, strict=True) if m]
        seen = [c for c, m in zip(columns, pattern, strict=True) if not m]
        usable = np.where(np.all([candidates[c] != "" for c in need], axis=0))[0]
        if len(usable) == 0:
            raise DataError(
                f"the synthesizer drew no row with {', '.join(need)} present: it cannot impute them"
            )
        if seen:
            sub = MixedDistance(seen, types).fit(candidates)
            _, index = sub.nearest(sub.encode(table, rows), sub.encode(candidates, usable))
            chosen = usable[index[:, 0].numpy()]
        else:
            chosen = np.random.default_rng(seed).choice(usable, len(rows))
        for c in need:
            filled[c][rows] = candidates[c][chosen]
            counts[c] += len(rows)
    write_csv(target, filled)
    return {"run": synth.run.id, "path": str(target), "rows": len(missing), "incomplete_rows": int(missing.any(1).sum()),
            "filled_cells": {c: k for c, k in counts.items() if k}, "input": str(path)}  # fmt: skip

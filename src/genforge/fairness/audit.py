"""Fairness audits: of a predictions file, or of a baseline classifier trained on a built-in table.

:func:`audit_predictions` reads a CSV with a true-label column, a prediction column and one or more
sensitive columns; :func:`audit_model` fits a scikit-learn logistic regression on a table's training split
(every column but the target as features, :class:`~genforge.data.tabular.TableEncoder`) and audits its
test-split predictions. Both return :func:`~genforge.metrics.fairness.fairness_report`'s dict, with what
was audited. Several sensitive columns give intersectional groups (``Female|Black``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from genforge.core.config import Config
from genforge.core.errors import DataError
from genforge.data.tabular import Table, load_table, read_csv, table_encoder
from genforge.metrics.fairness import fairness_metrics


class AuditConfig(Config):
    """Settings of a fairness audit (the CLI, Python and the model card use this one object)."""

    min_group_size: int = Field(30, ge=1, description="warn about groups with fewer rows than this")
    bootstrap: int = Field(1000, ge=0, le=100_000, description="bootstrap resamples for intervals (0 = none)")
    confidence: float = Field(0.95, gt=0, lt=1, description="confidence level of the intervals")
    pos_label: str | None = Field(None, description="the positive label when labels are not 0/1")


def _check_columns(columns: dict[str, np.ndarray], names: list[str], where: str) -> None:
    missing = [n for n in names if n not in columns]
    if missing:
        raise DataError(
            f"{where} has no column {', '.join(missing)} (columns: {', '.join(list(columns)[:15])})"
        )


def audit_predictions(
    path: str | Path,
    *,
    y_true: str,
    y_pred: str,
    sensitive: list[str],
    config: AuditConfig | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Audit the predictions in the CSV at ``path`` (column names given)."""
    config = config or AuditConfig()
    if not sensitive:
        raise DataError("name at least one sensitive column (--sensitive sex[,race])")
    columns = read_csv(path)
    _check_columns(columns, [y_true, y_pred, *sensitive], str(path))
    report = fairness_metrics(
        columns[y_true],
        columns[y_pred],
        {s: columns[s] for s in sensitive},
        pos_label=config.pos_label,
        min_group_size=config.min_group_size,
        bootstrap=config.bootstrap,
        confidence=config.confidence,
        seed=seed,
    )
    return {
        "audited": {"predictions": str(path), "y_true": y_true, "y_pred": y_pred, "sensitive": sensitive},
        **report,
    }


def fit_logistic(table: Table, sample_weight: np.ndarray | None = None, seed: int = 0):
    """A scikit-learn logistic regression fitted on the table's training split; returns (model, encoder)."""
    from sklearn.linear_model import LogisticRegression

    encoder = table_encoder(table)
    rows = table.splits["train"]
    model = LogisticRegression(max_iter=2000, random_state=seed)
    model.fit(encoder.transform(table, rows), table.labels(rows), sample_weight=sample_weight)
    return model, encoder


def audit_model(
    data: str,
    *,
    sensitive: list[str] | None = None,
    config: AuditConfig | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Train a logistic regression on ``data``'s training split and audit its test-split predictions."""
    config = config or AuditConfig()
    table = load_table(data)
    sensitive = sensitive or table.sensitive[:1]  # the table's first sensitive attribute by default
    _check_columns(table.columns, sensitive, f"table {data}")
    model, encoder = fit_logistic(table, seed=seed)
    rows = table.splits["test"]
    predictions = model.predict(encoder.transform(table, rows))
    truth = table.labels(rows)
    report = fairness_metrics(
        truth,
        predictions,
        {s: table.columns[s][rows] for s in sensitive},
        min_group_size=config.min_group_size,
        bootstrap=config.bootstrap,
        confidence=config.confidence,
        seed=seed,
    )
    audited = {"data": data, "model": "logistic regression (scikit-learn)", "split": "test", "rows": len(rows),
               "sensitive": sensitive, "source": table.source}  # fmt: skip
    return {"audited": audited, **report}


def _disparity_summary(report: dict[str, Any]) -> dict[str, Any]:
    keep = ("demographic_parity_difference", "equalized_odds_difference", "equal_opportunity_difference")
    out = {"accuracy": report["overall"]["accuracy"]}
    out.update({k: report["disparities"][k] for k in keep if k in report["disparities"]})
    return out


def audit_samples(
    run: str | Path,
    *,
    reference: str,
    sensitive: list[str],
    rows: int = 5000,
    config: AuditConfig | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Fairness of a tabular synthesizer's rows against the real ``reference`` table: per sensitive column,
    group shares and positive-label rates (synthetic vs the reference's training rows), and a logistic
    regression trained on synthetic rows vs one trained on as many real rows, both audited on the
    reference's test split (fairlearn's definitions, :func:`fairness_metrics`)."""
    from genforge.tabular.engine import load_synthesizer
    from genforge.tabular.quality import fairness as group_rates

    config = config or AuditConfig()
    if not sensitive:
        raise DataError("name at least one sensitive column (--sensitive sex[,race])")
    synth = load_synthesizer(run)
    options = synth.run.read_config()["data"].get("options", {})
    table = load_table(reference, target=options.get("target"), positive=options.get("positive"))
    if table.target is None or table.target not in synth.columns:
        raise DataError(f"the synthesizer's rows have no target column of {reference} ({table.target})")
    _check_columns({c: None for c in synth.columns}, sensitive, f"the rows of run {synth.run.id}")
    _check_columns(table.columns, sensitive, f"table {reference}")
    not_categorical = [s for s in sensitive if table.types.get(s) != "categorical"]
    if not_categorical:
        raise DataError(
            f"sensitive column(s) {', '.join(not_categorical)} of {reference} are not categorical"
        )
    train_rows = table.splits["train"]
    count = min(rows, len(train_rows))
    synthetic = synth.draw(count, seed)
    picked = np.random.default_rng(seed).permutation(train_rows)[:count]
    real = {c: table.columns[c][picked] for c in synth.columns}
    table.sensitive = list(sensitive)
    shares = group_rates(table, real, synthetic)

    names = [c for c in synth.columns if c != table.target and table.types.get(c) != "id"]
    test_rows = table.splits["test"]
    truth = table.labels(test_rows)
    groups = {s: table.columns[s][test_rows] for s in sensitive}
    trained: dict[str, Any] = {}
    for label, columns in (("real", real), ("synthetic", synthetic)):
        fitted = Table(table.name, dict(columns), table.types, table.target, table.positive, sensitive,
                       {"train": np.arange(count)})  # fmt: skip
        labels = fitted.labels()
        if len(set(labels.tolist())) < 2:
            trained[label] = {"note": f"the {label} rows hold one label only; no classifier fitted"}
            continue
        from sklearn.linear_model import LogisticRegression

        encoder = table_encoder_for(fitted, names)
        model = LogisticRegression(max_iter=2000, random_state=seed)
        model.fit(encoder.transform(fitted, fitted.splits["train"]), labels)
        predictions = model.predict(encoder.transform(table, test_rows))
        report = fairness_metrics(truth, predictions, groups, min_group_size=config.min_group_size,
                                  bootstrap=0, seed=seed)  # fmt: skip
        trained[label] = {**_disparity_summary(report), "warnings": report["warnings"]}
    audited = {"samples": synth.run.id, "method": synth.method, "reference": reference, "rows": count,
               "test_rows": len(test_rows), "sensitive": sensitive, "seed": seed}  # fmt: skip
    return {"audited": audited, "groups": shares, "train_on": trained}


def table_encoder_for(table: Table, names: list[str]):
    """A :class:`TableEncoder` of ``names`` fitted on ``table``'s training rows."""
    from genforge.data.tabular import TableEncoder

    return TableEncoder(names, table.types).fit(table, table.splits["train"])

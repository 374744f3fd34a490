"""Bias mitigation of a tabular classifier, with a before/after comparison on the test split.

Three methods, one call (:func:`mitigate`):

- ``threshold``: fairlearn's ``ThresholdOptimizer`` (Hardt, Price & Srebro 2016), group-specific
  thresholds on the logistic regression's probabilities, post-processing;
- ``expgrad``: fairlearn's ``ExponentiatedGradient`` (Agarwal et al. 2018), a randomized classifier that
  meets the constraint on the training data, in-processing;
- ``reweigh``: our own reweighing (Kamiran & Calders 2012): each training row weighs
  ``P(group) P(label) / P(group, label)`` so group and label are independent in the weighted data,
  pre-processing. It is four lines on top of scikit-learn's ``sample_weight``; fairlearn has no such
  method and AIF360 pulls TensorFlow.

The randomized predictions of ``threshold`` and ``expgrad`` draw from ``seed``, which the result records.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from genforge.core.config import Config
from genforge.core.errors import ConfigError, DataError, require
from genforge.data.tabular import load_table
from genforge.fairness.audit import fit_logistic
from genforge.metrics.fairness import fairness_metrics, group_keys

METHODS = ("threshold", "expgrad", "reweigh")
CONSTRAINTS = ("demographic_parity", "equalized_odds")


class MitigationConfig(Config):
    method: Literal["threshold", "expgrad", "reweigh"] = Field("threshold", description="mitigation method")
    constraint: Literal["demographic_parity", "equalized_odds"] = Field(
        "equalized_odds", description="the fairness constraint to satisfy (threshold, expgrad)"
    )
    eps: float = Field(0.01, gt=0, le=1, description="allowed constraint violation of expgrad")


def reweighing_weights(labels: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Kamiran & Calders (2012) weights ``P(a) P(y) / P(a, y)`` per row (expected/observed frequency)."""
    weights = np.empty(len(labels), dtype=np.float64)
    for group in np.unique(groups):
        in_group = groups == group
        for label in np.unique(labels):
            cell = in_group & (labels == label)
            if cell.any():
                weights[cell] = in_group.mean() * (labels == label).mean() / cell.mean()
    return weights


def _summary(truth: np.ndarray, predictions: np.ndarray, groups: np.ndarray, seed: int) -> dict[str, float]:
    report = fairness_metrics(truth, predictions, groups, bootstrap=0, seed=seed)
    d = report["disparities"]
    return {
        "accuracy": report["overall"]["accuracy"],
        "selection_rate": report["overall"]["selection_rate"],
        "demographic_parity_difference": d["demographic_parity_difference"],
        "equalized_odds_difference": d["equalized_odds_difference"],
        "disparate_impact": d["disparate_impact"],
    }


def mitigate(
    data: str, *, sensitive: str, config: MitigationConfig | None = None, seed: int = 0
) -> dict[str, Any]:
    """Fit the logistic-regression baseline and its mitigated version on ``data``'s training split;
    compare both on the test split (accuracy, selection rate, DP and EO differences, disparate impact)."""
    config = config or MitigationConfig()
    table = load_table(data)
    if sensitive not in table.columns:
        raise DataError(
            f"table {data} has no column {sensitive} (sensitive attributes: {', '.join(table.sensitive)})"
        )
    train, test = table.splits["train"], table.splits["test"]
    groups_all, _ = group_keys([table.columns[sensitive]], [sensitive])
    if len(set(groups_all.tolist())) < 2:
        raise DataError(f"column {sensitive} has one group only: nothing to compare")
    model, encoder = fit_logistic(table, seed=seed)
    x_train, x_test = encoder.transform(table, train), encoder.transform(table, test)
    y_train, y_test = table.labels(train), table.labels(test)
    a_train, a_test = groups_all[train], groups_all[test]
    before = _summary(y_test, model.predict(x_test), a_test, seed)
    if config.method == "reweigh":
        weighted, _ = fit_logistic(table, sample_weight=reweighing_weights(y_train, a_train), seed=seed)
        after_pred = weighted.predict(x_test)
    else:
        after_pred = _fairlearn_predict(config, model, x_train, y_train, a_train, x_test, a_test, seed)
    after = _summary(y_test, np.asarray(after_pred).astype(np.int64), a_test, seed)
    return {
        "data": data,
        "sensitive": sensitive,
        "method": config.method,
        "constraint": config.constraint if config.method != "reweigh" else "independence of group and label",
        "seed": seed,
        "split": "test",
        "rows": len(test),
        "before": before,
        "after": after,
    }


def _fairlearn_predict(config, model, x_train, y_train, a_train, x_test, a_test, seed: int) -> np.ndarray:
    require("fairlearn", "fairness")
    from fairlearn.postprocessing import ThresholdOptimizer
    from fairlearn.reductions import DemographicParity, EqualizedOdds, ExponentiatedGradient
    from sklearn.linear_model import LogisticRegression

    if config.method == "threshold":
        optimizer = ThresholdOptimizer(
            estimator=model, constraints=config.constraint, prefit=True, predict_method="predict_proba"
        )
        optimizer.fit(x_train, y_train, sensitive_features=a_train)
        return optimizer.predict(x_test, sensitive_features=a_test, random_state=seed)
    if config.method == "expgrad":
        constraint = DemographicParity() if config.constraint == "demographic_parity" else EqualizedOdds()
        reduction = ExponentiatedGradient(
            LogisticRegression(max_iter=2000, random_state=seed), constraints=constraint, eps=config.eps
        )
        reduction.fit(x_train, y_train, sensitive_features=a_train)
        return reduction.predict(x_test, random_state=seed)
    raise ConfigError(f"unknown mitigation method '{config.method}' (use {', '.join(METHODS)})")

"""Fairness of classifiers on tabular data about people: audits (:mod:`.audit`) and mitigation (:mod:`.mitigate`).

The metrics themselves are :mod:`genforge.metrics.fairness` (layer 2); this package composes them with the
tabular datasets, a scikit-learn baseline and fairlearn's mitigators.
"""

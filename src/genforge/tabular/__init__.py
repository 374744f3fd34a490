"""Synthetic tabular data: TVAE, CTGAN and a Gaussian-copula baseline on a table, conditional sampling,
imputation, domain presets and a quality + privacy + fairness report (issue 19; docs/tabular.md)."""

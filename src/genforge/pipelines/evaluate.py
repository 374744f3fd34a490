"""Evaluation of a trained run on a data split (the API behind ``genforge eval``).

Averages the family's per-example ``eval_terms`` (bits/dim, IWAE bound, reconstruction error, …) over
the split, adds the independent per-pixel categorical baseline for discrete images, and, when
``metrics`` are asked for, sample-based metrics (FD, KID, IS, PRDC) from :mod:`genforge.metrics`.
The result is written to ``RUN/eval.json`` and summarised in the model card.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from genforge.core.io import atomic_write_json
from genforge.core.runs import Run
from genforge.models.baseline import pixel_categorical_bits_per_dim
from genforge.pipelines.card import write_model_card
from genforge.pipelines.loading import load_run


def evaluate_run(
    run: str | Path | Run,
    *,
    split: str = "test",
    n: int | None = None,
    seed: int = 0,
    metrics: list[str] | None = None,
    batch_size: int = 256,
) -> dict[str, Any]:
    """Evaluate ``run`` on ``split`` (up to ``n`` examples) and return a self-describing dict."""
    loaded = load_run(run)
    model, dataset = loaded.model, loaded.dataset
    totals: dict[str, float] = {}
    count = 0
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for batch in dataset.batches(split, batch_size, limit=n):
            for key, values in model.eval_terms(batch).items():
                totals[key] = totals.get(key, 0.0) + float(values.double().sum())
            count += len(batch["x"])
    means = {k: v / max(count, 1) for k, v in totals.items()}
    if hasattr(model, "summarize_eval"):
        means.update(model.summarize_eval(means))
    result: dict[str, Any] = {**means}
    result.update(
        {
            "run": loaded.run.id,
            "family": loaded.config["family"],
            "data": loaded.config["data"]["spec"],
            "split": split,
            "num_examples": count,
            "step": loaded.step,
        }
    )
    info = model.info
    if info.kind == "image" and info.num_levels:
        result["baseline"] = {
            "name": "independent per-pixel categorical (add-1 smoothing, fitted on train)",
            "bits_per_dim": pixel_categorical_bits_per_dim(
                dataset.split("train")["x"], dataset.split(split)["x"][: n or None], info.num_levels
            ),
        }
    if metrics:
        from genforge.metrics.run_metrics import evaluate_samples

        result["metrics"] = evaluate_samples(loaded, list(metrics), n or 2000, seed)
    atomic_write_json(loaded.run.eval_path, result)
    write_model_card(loaded.run)
    return result

"""Evaluation of a trained run on a data split (the API behind ``genforge eval``).

Averages the family's per-example ``eval_terms`` (bits/dim, IWAE bound, reconstruction error, …) over
``num_examples`` examples of the split; for a family with a likelihood on discrete images, adds the
independent per-pixel categorical baseline; and computes sample-based metrics (FD, KID, IS, PRDC, MMD)
from :mod:`genforge.metrics` on ``num_samples`` generated samples when ``metrics`` asks for them. A
family without a likelihood (the GAN) is judged by its samples, so its evaluation computes FD (FD-digits
on digits, with the train-vs-test reference) unless ``metrics`` says otherwise. The result opens with
its ``headline`` (:func:`genforge.metrics.run_metrics.headline`), is written to ``RUN/eval.json`` and is
summarised in the model card.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from genforge.core.errors import ConfigError
from genforge.core.io import atomic_write_json
from genforge.core.runs import Run
from genforge.metrics.run_metrics import DEFAULT_NUM_SAMPLES, evaluate_samples, headline
from genforge.models.baseline import pixel_categorical_bits_per_dim
from genforge.pipelines.card import write_model_card
from genforge.pipelines.loading import load_run
from genforge.pipelines.scenes import SCENE_METRICS, scene_figures

__all__ = ["evaluate_run", "headline", "DEFAULT_NUM_SAMPLES"]
SAMPLE_HEADLINE_METRICS = ["fd"]  # what a family without a likelihood is judged by


def evaluate_run(
    run: str | Path | Run,
    *,
    split: str = "test",
    num_examples: int | None = None,
    num_samples: int = DEFAULT_NUM_SAMPLES,
    seed: int = 0,
    metrics: list[str] | None = None,
    batch_size: int = 256,
) -> dict[str, Any]:
    """Evaluate ``run`` and return a self-describing dict that opens with its ``headline``.

    ``num_examples``: examples of ``split`` the likelihood terms average over (None: the whole split).
    ``num_samples``: samples drawn for sample-based ``metrics`` (``fd``, ``kid``, ``is``, ``prdc``,
    ``mmd``; ``nll`` names the likelihood terms, always computed). ``metrics=None`` means none for a
    family with a likelihood and ``["fd"]`` for one without (a GAN); ``[]`` means none at all.
    """
    if num_examples is not None and num_examples < 1:
        raise ConfigError(
            f"num_examples must be at least 1 (or None for the whole split), got {num_examples}"
        )
    loaded = load_run(run)
    model, dataset = loaded.model, loaded.dataset
    info = model.info
    has_likelihood = model.has("log_prob")
    if metrics is None:
        judged_by_samples = not has_likelihood and info.kind in ("image", "points") and model.has("sample")
        metrics = SAMPLE_HEADLINE_METRICS if judged_by_samples else []
    totals: dict[str, float] = {}
    count = 0
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for batch in dataset.batches(split, batch_size, limit=num_examples):
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
    if has_likelihood and info.kind == "image" and info.num_levels:
        result["baseline"] = {
            "name": "independent per-pixel categorical (add-1 smoothing, fitted on train)",
            "bits_per_dim": pixel_categorical_bits_per_dim(
                dataset.split("train")["x"],
                dataset.split(split)["x"][: num_examples or None],
                info.num_levels,
            ),
        }
    result.update(scene_figures(model, dataset, split))
    metrics = [m for m in metrics if m not in SCENE_METRICS]
    if metrics:
        result["metrics"] = evaluate_samples(loaded, list(metrics), num_samples, seed)
    result = {"headline": headline(result), **result}
    atomic_write_json(loaded.run.eval_path, result)
    write_model_card(loaded.run)
    return result

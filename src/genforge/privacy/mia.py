"""Loss-threshold membership inference (Yeom et al. 2018) against any trained run.

Members are examples of the run's training split, non-members the same number from its test split (data
the run never trained on, from the same distribution). Each example's score is minus its loss under the
run's model (one example at a time, so a loss averaged over a batch still gives per-example values; the
model's own randomness, e.g. a VAE's latent sample, is drawn from a stream seeded by ``seed``). A model
that memorised its training data gives members lower losses: the attack's AUC rises above 0.5 and its TPR
at low FPR above the FPR. The result is written to the run (``mia.json``) for the model card.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from pydantic import Field

from genforge.core.config import Config
from genforge.core.errors import DataError
from genforge.core.io import atomic_write_json
from genforge.core.runs import Run
from genforge.core.seed import torch_rng_stream
from genforge.metrics.membership import membership_advantage
from genforge.pipelines.card import MIA_FILE, write_model_card
from genforge.pipelines.loading import load_run


class MIAConfig(Config):
    attack: str = Field("loss", pattern="^loss$", description="attack: loss (the loss-threshold attack)")
    max_examples: int = Field(1000, ge=10, le=100_000, description="members (and as many non-members) scored")


@torch.no_grad()
def example_losses(
    model: torch.nn.Module, split: dict[str, torch.Tensor], count: int, seed: int
) -> list[float]:
    """The loss of each of the first ``count`` examples of ``split``, one example at a time."""
    losses = []
    with torch_rng_stream(seed=seed):
        for i in range(count):
            loss = model.loss({k: v[i : i + 1] for k, v in split.items()})["loss"]
            losses.append(float(loss))
    return losses


def membership_inference(
    run: str | Path | Run, *, config: MIAConfig | None = None, seed: int = 0
) -> dict[str, Any]:
    """Attack ``run`` with the loss-threshold attack; returns (and writes to the run) AUC, advantage, TPR
    at 0.1 % / 1 % FPR and the mean member / non-member loss."""
    config = config or MIAConfig()
    loaded = load_run(run)
    dataset = loaded.dataset
    train, test = dataset.split("train"), dataset.split("test")
    count = min(len(train["x"]), len(test["x"]), config.max_examples)
    if count < 10:
        raise DataError(
            f"run {loaded.run.id} has {count} test examples; a membership attack needs at least 10"
        )
    gen = torch.Generator().manual_seed(seed)
    picked = torch.randperm(len(train["x"]), generator=gen)[:count]
    members = example_losses(loaded.model, {k: v[picked] for k, v in train.items()}, count, seed)
    others = example_losses(loaded.model, test, count, seed + 1)
    result = membership_advantage([-v for v in members], [-v for v in others])
    result.update(
        {
            "attack": config.attack,
            "run": loaded.run.id,
            "step": loaded.step,
            "member_loss": sum(members) / count,
            "nonmember_loss": sum(others) / count,
            "seed": seed,
        }
    )
    atomic_write_json(loaded.run.artifact(MIA_FILE), result)
    write_model_card(loaded.run)
    return result

"""Membership inference against any trained run: the loss-threshold attack (Yeom et al. 2018) and LiRA
with shadow models (Carlini et al. 2022).

Members are examples of the run's training split, non-members the same number from its test split (data
the run never trained on, from the same distribution). Each example's score is minus its loss under the
run's model (one example at a time, so a loss averaged over a batch still gives per-example values; the
model's own randomness, e.g. a VAE's latent sample, is drawn from a stream seeded by ``seed``). A model
that memorised its training data gives members lower losses: the attack's AUC rises above 0.5 and its TPR
at low FPR above the FPR. The result is written to the run (``mia.json``) for the model card.

LiRA (``attack="lira"``) calibrates each example's loss against shadow models: ``shadows`` real genforge
trainings of the run's family and config (``shadow_steps`` steps each) on seeded random halves of the
pool the attacker knows, the run's train split plus its holdout (test) split. Every pool example is in
exactly half of the shadows (the paper's balanced assignment), so each scored example has an "in" and an
"out" loss sample. A Gaussian is fitted to each (per-example means, one variance pooled over all examples,
the paper's choice for few shadows); the online score is the log-likelihood ratio of the target's loss
under "in" vs "out", the offline score how far the loss lies below the "out" Gaussian (minus the log of
its left tail).
Losses of generative models (negative log-likelihoods or ELBOs) are already unbounded reals, so no logit
scaling is applied.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field

from genforge.core.config import Config
from genforge.core.errors import ConfigError, DataError
from genforge.core.io import atomic_write_json
from genforge.core.runs import Run, new_run
from genforge.core.seed import torch_rng_stream
from genforge.data import Dataset
from genforge.metrics.membership import membership_advantage
from genforge.models.base import build_model
from genforge.pipelines.card import MIA_FILE, write_model_card
from genforge.pipelines.loading import LoadedRun, load_run
from genforge.trainer.config import TrainConfig
from genforge.trainer.loop import Trainer

DEFAULT_SHADOW_STEPS = 1000  # when the run itself recorded no step budget


class MIAConfig(Config):
    attack: Literal["loss", "lira"] = Field(
        "loss", description="attack: loss (loss threshold) or lira (likelihood ratio with shadow models)"
    )
    max_examples: int = Field(1000, ge=10, le=100_000, description="members (and as many non-members) scored")
    shadows: int = Field(8, ge=2, le=256, description="LiRA: shadow models trained (even number)")
    shadow_steps: int | None = Field(
        None, ge=1, description="LiRA: training steps per shadow (default: the run's own max_steps)"
    )


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
    """Attack ``run`` (loss threshold, or LiRA with shadow models); returns (and writes to the run) AUC,
    advantage, TPR at 0.1 % / 1 % FPR and the mean member / non-member loss."""
    config = config or MIAConfig()
    if config.attack == "lira" and config.shadows % 2:
        raise ConfigError(f"LiRA needs an even number of shadow models (got --shadows {config.shadows})")
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
    if config.attack == "lira":
        lira = lira_scores(loaded, picked, count, members, others, config, seed)
        result = membership_advantage(lira.pop("member_scores"), lira.pop("nonmember_scores"))
        offline = membership_advantage(lira.pop("member_offline"), lira.pop("nonmember_offline"))
        result["offline"] = {k: v for k, v in offline.items() if k != "roc"}
        result["lira"] = lira
    else:
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


def shadow_assignment(pool: int, shadows: int, seed: int) -> np.ndarray:
    """A (shadows, pool) boolean matrix: which pool examples each shadow trains on. Every example is in
    exactly half of the shadows (a seeded random half per example), so each shadow gets about half the pool."""
    if shadows < 2 or shadows % 2:
        raise ConfigError(f"LiRA needs an even number of shadow models, at least 2 (got {shadows})")
    rng = np.random.default_rng(seed)
    order = rng.random((shadows, pool)).argsort(axis=0)
    return order < shadows // 2


def lira_scores(
    loaded: LoadedRun,
    picked: torch.Tensor,
    count: int,
    members: list[float],
    others: list[float],
    config: MIAConfig,
    seed: int,
) -> dict[str, Any]:
    """Train the shadows, score the target's losses against their in/out loss distributions."""
    dataset = loaded.dataset
    train, test = dataset.split("train"), dataset.split("test")
    n_train = len(train["x"])
    pool = {k: torch.cat([train[k], test[k]]) for k in train}
    size = len(pool["x"])
    # the scored examples' positions in the pool: the picked members, then the first `count` test examples
    scored = torch.cat([picked, torch.arange(n_train, n_train + count)])
    assignment = shadow_assignment(size, config.shadows, seed)
    steps = config.shadow_steps or loaded.config["train"].get("max_steps") or DEFAULT_SHADOW_STEPS
    train_cfg = TrainConfig.build(
        {**loaded.config["train"], "max_steps": steps, "max_minutes": None}, where="shadow train"
    )
    losses = np.empty((config.shadows, len(scored)))
    workdir = Path(tempfile.mkdtemp(prefix="genforge-lira-"))
    try:
        for k in range(config.shadows):
            ids = torch.from_numpy(np.flatnonzero(assignment[k]))
            shadow = train_shadow(loaded, {**dataset.splits, "train": {n: v[ids] for n, v in pool.items()}},
                                  train_cfg, workdir, seed * 1_000 + k + 1)  # fmt: skip
            shadow.eval()
            picked_pool = {n: v[scored] for n, v in pool.items()}
            half = example_losses(shadow, {n: v[:count] for n, v in picked_pool.items()}, count, seed)
            rest = example_losses(shadow, {n: v[count:] for n, v in picked_pool.items()}, count, seed + 1)
            losses[k] = half + rest
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    inside = assignment[:, scored.numpy()]
    target = np.asarray(members + others, dtype=np.float64)
    mu_in = np.array([losses[inside[:, j], j].mean() for j in range(len(scored))])
    mu_out = np.array([losses[~inside[:, j], j].mean() for j in range(len(scored))])
    sd_in = max(float(np.std(losses[inside] - np.broadcast_to(mu_in, losses.shape)[inside])), 1e-12)
    sd_out = max(float(np.std(losses[~inside] - np.broadcast_to(mu_out, losses.shape)[~inside])), 1e-12)
    online = _log_normal(target, mu_in, sd_in) - _log_normal(target, mu_out, sd_out)
    offline = -_log_left_tail((target - mu_out) / sd_out)  # a loss far below the "out" ones: a member
    return {
        "shadows": config.shadows,
        "shadow_steps": steps,
        "shadow_train_size": int(assignment.sum(axis=1).mean()),
        "pool": size,
        "sd_in": sd_in,
        "sd_out": sd_out,
        "member_scores": online[:count].tolist(),
        "nonmember_scores": online[count:].tolist(),
        "member_offline": offline[:count].tolist(),
        "nonmember_offline": offline[count:].tolist(),
    }


def train_shadow(
    loaded: LoadedRun, splits: dict[str, Any], train_cfg: TrainConfig, workdir: Path, seed: int
) -> torch.nn.Module:
    """One shadow: a real genforge training of the run's family and model config on ``splits``."""
    dataset = loaded.dataset
    shadow_data = Dataset(
        spec=dataset.spec, info=dataset.info, splits=splits, description=dataset.description,
        augment=dataset.augment, extra=dataset.extra,
    )  # fmt: skip
    config = loaded.config
    with torch_rng_stream(seed=seed):
        model = build_model(config["family"], config["model"], dataset.info)
        rng_state = torch.get_rng_state()
    run = new_run(workdir, f"shadow-{seed}")
    trainer = Trainer(model, shadow_data, train_cfg, run, seed=seed, rng_state=rng_state)
    if trainer.fit().status == "interrupted":  # a Ctrl-C stops the whole attack, not just this shadow
        raise KeyboardInterrupt
    if trainer.ema is not None:  # score the weights the target is scored with (EMA when it has one)
        model.load_state_dict(trainer.ema.weights_for(model))
    shutil.rmtree(run.path, ignore_errors=True)
    return model


def _log_normal(x: np.ndarray, mu: np.ndarray, sd: float) -> np.ndarray:
    return -0.5 * ((x - mu) / sd) ** 2 - math.log(sd)


def _log_left_tail(z: np.ndarray) -> np.ndarray:
    """log P(Z <= z) for a standard normal, stable far in the left tail."""
    from scipy.special import log_ndtr

    return log_ndtr(z)

"""MAML (second- and first-order) and Reptile with ``torch.func``, on any task family of ``tasks.py``.

:func:`train_meta` is the call behind ``genforge meta train`` and :func:`evaluate_meta` behind
``genforge meta eval``.
The learner is the family's network (Finn et al.'s MLP 1-40-40-1 for sinusoids, an MLP for
digits) used functionally: ``functional_call`` runs it with any parameter dict, ``grad`` gives the
inner-loop gradients, ``vmap`` runs the inner loop of every task of a meta-batch at once.

- **MAML** (Finn et al. 2017): adapt with ``inner_steps`` SGD steps of ``inner_lr`` on the support set,
  score the adapted parameters on the query set, and differentiate that loss through the adaptation
  (second order). ``first_order`` stops the gradient at the inner gradients (FOMAML).
- **pretrain**: the baseline the meta-learners must beat: one network trained on the pooled data of
  all training tasks (no inner loop: a regressor on all points, a classifier over all meta-training
  classes), fine-tuned on each new task's support set at evaluation like the others.
- **Reptile** (Nichol et al. 2018): adapt each task with ``inner_steps`` SGD steps on support and query
  points together, then move the initialisation toward the mean adapted parameters; the difference
  ``theta - mean(phi)`` is handed to the outer Adam as the gradient.

Written here rather than with ``higher`` or ``learn2learn``: ``torch.func`` is part of torch and does
the whole job (learn2learn does not build on Python 3.11). A run is a genforge run directory;
a checkpoint between meta-iterations holds the parameters, the Adam state and the task generator's
state, so a resumed run ends exactly like an uninterrupted one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import Field
from torch import nn
from torch.func import functional_call, grad, vmap

from genforge.core.config import Config
from genforge.core.errors import CheckpointError, ConfigError
from genforge.core.io import flatten_state, unflatten_state
from genforge.core.runs import Run, new_run, resolve_run
from genforge.core.seed import make_generator, torch_rng_stream
from genforge.meta.tasks import TASKS, mse, parse_task
from genforge.trainer.signals import StopSignals

ProgressFn = Callable[[dict[str, Any]], None]
EVAL_STEPS = (0, 1, 5, 10)
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class MetaConfig(Config):
    algo: Literal["maml", "reptile", "pretrain"] = Field(
        "maml", description="meta-learner: maml, reptile, or pretrain (the fine-tune baseline)"
    )
    task: Literal["sinusoid", "digits"] = Field("sinusoid", description="task family")
    ways: int | None = Field(None, ge=1, le=100, description="classes per episode (classification tasks)")
    first_order: bool = Field(False, description="MAML without second-order terms (FOMAML)")
    inner_steps: int = Field(1, ge=1, le=100, description="SGD steps of adaptation per task in training")
    inner_lr: float = Field(0.01, gt=0, description="adaptation step size")
    meta_lr: float = Field(1e-3, gt=0, description="Adam learning rate of the initialisation")
    meta_batch: int = Field(25, ge=1, le=1000, description="tasks per meta-iteration")
    shots: int = Field(10, ge=1, le=1000, description="support points (per class for digits) per task (K)")
    query: int = Field(10, ge=1, le=1000, description="query points (per class for digits) per task")
    hidden: int = Field(40, ge=1, le=1024, description="units per hidden layer")
    iterations: int = Field(70_000, ge=1, le=10_000_000, description="meta-iterations to train for")
    log_every: int = Field(100, ge=1, description="log the meta-loss every this many iterations")
    checkpoint_every: int = Field(1000, ge=1, description="checkpoint every this many iterations")


def adapt(
    net: nn.Module,
    params: dict,
    x: torch.Tensor,
    y: torch.Tensor,
    steps: int,
    lr: float,
    first_order: bool,
    loss_fn: LossFn = mse,
) -> dict:
    """``params`` after ``steps`` SGD steps on ``loss_fn`` (default mean squared error) of one task's
    ``(x, y)``."""

    def loss(p: dict) -> torch.Tensor:
        return loss_fn(functional_call(net, p, (x,)), y)

    for _ in range(steps):
        grads = grad(loss)({k: v.detach() for k, v in params.items()} if first_order else params)
        params = {k: v - lr * grads[k] for k, v in params.items()}
    return params


@dataclass
class MetaResult:
    run: Run
    status: str
    iterations: int
    elapsed_s: float
    evaluation: dict[str, Any] | None = None


class MetaLearner:
    def __init__(self, config: MetaConfig, run: Run, seed: int) -> None:
        self.config, self.run, self.seed = config, run, seed
        self.family = TASKS[config.task]
        with torch_rng_stream(seed=seed):
            self.net = self.family.net(config, pretrain=config.algo == "pretrain")
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=config.meta_lr)
        self.generator = make_generator(seed + 1)
        self.iteration = 0
        self.elapsed_before = 0.0

    def meta_step(self) -> float:
        cfg, net, family = self.config, self.net, self.family
        params = dict(net.named_parameters())
        self.optimizer.zero_grad(set_to_none=True)
        if cfg.algo == "pretrain":  # one network for all tasks, fine-tuned only at evaluation
            x, y = family.pretrain_batch(cfg, self.generator)
            loss = family.loss(net(x), y)
            loss.backward()
            self.optimizer.step()
            return float(loss.detach())
        batch = family.episodes(cfg, cfg.meta_batch, self.generator)
        if cfg.algo == "maml":

            def query_loss(p, xs, ys, xq, yq):
                adapted = adapt(net, p, xs, ys, cfg.inner_steps, cfg.inner_lr, cfg.first_order, family.loss)
                return family.loss(functional_call(net, adapted, (xq,)), yq)

            loss = vmap(query_loss, in_dims=(None, 0, 0, 0, 0))(
                params, *(batch[k] for k in ("xs", "ys", "xq", "yq"))
            ).mean()
            loss.backward()
        else:
            x = torch.cat([batch["xs"], batch["xq"]], 1)
            y = torch.cat([batch["ys"], batch["yq"]], 1)
            detached = {k: v.detach() for k, v in params.items()}
            adapted = vmap(
                lambda xi, yi: adapt(net, detached, xi, yi, cfg.inner_steps, cfg.inner_lr, True, family.loss)
            )(x, y)
            for name, p in params.items():
                p.grad = p.detach() - adapted[name].mean(0)
            mean = {k: v.mean(0) for k, v in adapted.items()}
            with torch.no_grad():
                loss = vmap(lambda xi, yi: family.loss(functional_call(net, mean, (xi,)), yi))(x, y).mean()
        self.optimizer.step()
        return float(loss.detach())

    def save(self, status: str, elapsed: float) -> None:
        tensors = {f"net.{k}": v for k, v in self.net.state_dict().items()}
        opt_tensors, skeleton = flatten_state(self.optimizer.state_dict(), "optim")
        tensors.update(opt_tensors)
        tensors["rng.generator"] = self.generator.get_state()
        meta = {"status": status, "iteration": self.iteration, "elapsed_s": elapsed, "optimizer": skeleton}
        self.run.save_checkpoint(self.iteration, tensors, meta)

    def load(self) -> None:
        checkpoint = self.run.load_checkpoint()
        tensors, meta = checkpoint.tensors, checkpoint.meta
        try:
            self.net.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("net.")})
            self.optimizer.load_state_dict(unflatten_state(meta["optimizer"], tensors))
            self.generator.set_state(tensors["rng.generator"])
            self.iteration = int(meta["iteration"])
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            raise CheckpointError(
                f"checkpoint of {self.run.path} does not fit its config: {str(exc).splitlines()[0]}"
            ) from None
        self.elapsed_before = float(meta.get("elapsed_s", 0.0))

    def fit(self, max_minutes: float | None, progress: ProgressFn | None) -> tuple[str, float]:
        start, cfg, status = time.perf_counter(), self.config, "completed"
        self.run.drop_metrics_after(self.iteration)
        window: list[float] = []
        with StopSignals() as stop:
            if self.iteration == 0 and not self.run.checkpoint_steps():
                self.save("running", 0.0)
            while self.iteration < cfg.iterations:
                if stop.received:
                    status = "interrupted"
                    break
                if max_minutes is not None and time.perf_counter() - start >= max_minutes * 60:
                    status = "time_budget"
                    break
                window.append(self.meta_step())
                self.iteration += 1
                if self.iteration % cfg.log_every == 0 or self.iteration == cfg.iterations:
                    record = {
                        "step": self.iteration,
                        "split": "train",
                        "meta_loss": sum(window) / len(window),
                    }
                    window = []
                    self.run.log([record])
                    if progress:
                        progress({**record, "total": cfg.iterations, "run": str(self.run.path)})
                if self.iteration % cfg.checkpoint_every == 0:
                    self.save("running", self.elapsed_before + time.perf_counter() - start)
            elapsed = self.elapsed_before + time.perf_counter() - start
            self.save(status, elapsed)
        return status, elapsed


def _config_json(config: MetaConfig, seed: int) -> dict[str, Any]:
    return {
        "family": config.algo,
        "kind": "meta",
        "model": {"hidden": config.hidden},
        "train": config.model_dump(),
        "data": {"spec": f"meta:{_task_label(config)}"},
        "data_info": {"kind": "tasks", "shape": [1] if config.task == "sinusoid" else [1, 8, 8]},
        "seed": seed,
    }


def _task_label(config: MetaConfig) -> str:
    return config.task if config.ways is None else f"{config.task}:{config.ways}way-{config.shots}shot"


def train_meta(
    algo: str,
    task: str = "sinusoid",
    *,
    out: str | Path = "runs",
    seed: int = 0,
    overrides: dict[str, Any] | None = None,
    max_minutes: float | None = None,
    progress: ProgressFn | None = None,
) -> MetaResult:
    """Meta-train ``algo`` (maml, reptile, pretrain) on ``task`` (``sinusoid``, ``digits:NwayKshot``)
    into a new run; evaluates it at the end. ``overrides`` win over the task family's defaults, but may
    not contradict the ways/shots the task string names."""
    name, task_values = parse_task(task)
    overrides = overrides or {}
    for key in ("ways", "shots"):
        if ":" in task and key in overrides and overrides[key] != task_values[key]:
            raise ConfigError(
                f"the task '{task}' says {key}={task_values[key]} but {key}={overrides[key]} was also given: "
                "give it once"
            )
    values = {**task_values, **overrides, "algo": algo, "task": name}
    config = MetaConfig.build(values, where=f"meta {algo}")
    if config.first_order and algo != "maml":
        raise ConfigError("--first-order applies to maml only (reptile is first-order by construction)")
    TASKS[name].check(config)
    run = new_run(out, f"{algo}-{_task_label(config).replace(':', '-')}")
    run.write_config(_config_json(config, seed))
    return _fit(MetaLearner(config, run, seed), max_minutes, progress)


def resume_meta(
    run: str | Path | Run, *, max_minutes: float | None = None, progress: ProgressFn | None = None
) -> MetaResult:
    run = run if isinstance(run, Run) else resolve_run(run)
    config, seed = _read(run)
    learner = MetaLearner(config, run, seed)
    learner.load()
    if learner.iteration >= config.iterations:
        raise ConfigError(
            f"run {run.id} already finished its {config.iterations} iterations; train a new run for more"
        )
    return _fit(learner, max_minutes, progress)


def _fit(learner: MetaLearner, max_minutes: float | None, progress: ProgressFn | None) -> MetaResult:
    with learner.run.training_lock():
        status, elapsed = learner.fit(max_minutes, progress)
    evaluation = None if status == "interrupted" else evaluate_meta(learner.run, 600, seed=learner.seed)
    return MetaResult(learner.run, status, learner.iteration, elapsed, evaluation)


def _read(run: Run) -> tuple[MetaConfig, int]:
    config_json = run.read_config()
    if config_json.get("kind") != "meta":
        raise ConfigError(
            f"run {run.id} is a {config_json['family']} run, not a meta-learning run (genforge meta train makes one)"
        )
    return MetaConfig.build(config_json["train"], where=str(run.config_path)), int(config_json["seed"])


def evaluate_meta(
    run: str | Path | Run, episodes: int = 600, *, seed: int = 0, inner_lr: float | None = None
) -> dict[str, Any]:
    """The family's query score (MSE for sinusoids, accuracy for digits) on ``episodes`` new tasks
    after 0, 1, 5 and 10 SGD steps of ``inner_lr`` (default the run's) on their support sets: mean and normal-approximation
    95 % interval over tasks. Task seeds never meet training's; digits episodes come from the held-out
    classes. The pretrained baseline gets a fresh zero head of ``ways`` outputs, then fine-tunes the
    whole network like the meta-learners do."""
    if not 1 <= episodes <= 100_000:
        raise ConfigError(f"--episodes must be between 1 and 100000, got {episodes}")
    if inner_lr is not None and not inner_lr > 0:
        raise ConfigError(f"--inner-lr must be positive, got {inner_lr}")
    run = run if isinstance(run, Run) else resolve_run(run)
    config, _ = _read(run)
    step_size = config.inner_lr if inner_lr is None else inner_lr
    learner = MetaLearner(config, run, 0)
    learner.load()
    family = learner.family
    net = family.net(config, pretrain=False)
    eval_shapes = {k: v.shape for k, v in net.named_parameters()}
    params = {
        k: v.detach() if v.shape == eval_shapes[k] else torch.zeros(eval_shapes[k])
        for k, v in learner.net.named_parameters()
    }
    batch = family.episodes(config, episodes, make_generator(10**6 + seed), test=True)
    result: dict[str, Any] = {
        "run": run.id,
        "algo": config.algo,
        "task": _task_label(config),
        "metric": family.metric,
        "episodes": episodes,
        "shots": config.shots,
        "inner_lr": step_size,
    }
    curve = {}
    for steps in EVAL_STEPS:

        def query_score(xs, ys, xq, yq, steps=steps):
            adapted = adapt(net, params, xs, ys, steps, step_size, True, family.loss)
            return family.score(functional_call(net, adapted, (xq,)), yq)

        with torch.no_grad():  # the inner grad still runs: torch.func.grad ignores no_grad
            scores = vmap(query_score)(batch["xs"], batch["ys"], batch["xq"], batch["yq"])
        curve[str(steps)] = mean_ci(scores)
    result["after_steps"] = {k: {family.metric: v[0], "ci95": v[1]} for k, v in curve.items()}
    result[f"{family.metric}_after_1_step"] = curve["1"][0]
    result["iteration"] = learner.iteration
    run.write_eval(result)
    return result


def mean_ci(values: torch.Tensor) -> tuple[float, list[float]]:
    """Mean and normal-approximation 95 % interval (1.96 standard errors) of per-task scores."""
    mean = float(values.mean())
    half = 1.96 * float(values.std()) / math.sqrt(len(values)) if len(values) > 1 else 0.0
    return mean, [mean - half, mean + half]

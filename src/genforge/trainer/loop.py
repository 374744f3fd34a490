"""One trainer for every family.

The trainer owns the loop: deterministic batching, optimizer steps (or the family's own ``train_step``
for multi-optimizer families), learning-rate schedules, gradient clipping, EMA, validation and early
stopping (which restores the best weights), step/time budgets, NaN detection, periodic samples, atomic
checkpoints (every N steps and every few minutes), Ctrl-C/SIGTERM handling, and exact resume.

Exact resume rests on four facts. The batch of step ``s`` is a pure function of ``(seed, s)`` (one seeded
permutation per epoch, one seeded augmentation generator per step). Schedules are pure functions of the
step. Every other random draw (dropout, reparameterisation noise, GAN latents) comes from the run's own
stream of torch's global RNG (:func:`~genforge.core.seed.torch_rng_stream`), which validation and sample
writing never consume (they fork it). And a checkpoint only ever holds a *completed* step: Ctrl-C and
SIGTERM are deferred to the end of the step (:mod:`genforge.trainer.signals`); a ``KeyboardInterrupt``
raised in the middle of a step keeps the last checkpoint instead; one raised while the step's
logging/validation/samples run saves the step and marks that work as pending, and the resumed run
redoes it. Log records of steps after the checkpoint are dropped when a run resumes: no step is logged twice.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from genforge.core.errors import ConfigError, TrainingDiverged
from genforge.core.runs import Checkpoint, Run
from genforge.core.seed import make_generator, torch_rng_stream
from genforge.data import Dataset
from genforge.models.base import GenerativeModel
from genforge.trainer.config import DEFAULT_MAX_MINUTES, TrainConfig
from genforge.trainer.distributed import Distributed
from genforge.trainer.optim import EMA, clip_gradients, lr_factor, make_optimizer, set_lr
from genforge.trainer.signals import StopSignals
from genforge.trainer.state import Clock, Counters, clone_state, pack, unpack

__all__ = ["DEFAULT_MAX_MINUTES", "TrainConfig", "TrainResult", "Trainer"]


@dataclass
class TrainResult:
    run: Run
    status: str  # "completed" | "time_budget" | "early_stopped" | "privacy_budget" | "interrupted"
    step: int  # the step the run's latest checkpoint holds
    elapsed_s: float
    metrics: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what a user should know (fallbacks, restored weights)
    stop_signal: str | None = None  # "SIGINT" / "SIGTERM" when a signal stopped the run
    evaluation: dict[str, Any] | None = None  # the end-of-training evaluation (eval.json), when run
    distributed: dict[str, Any] | None = None  # backend, processes and the ranks' common weights digest


ProgressFn = Callable[[dict[str, Any]], None]
SampleFn = Callable[[GenerativeModel, int], None]


class Trainer:
    """Train ``model`` on ``dataset`` into ``run``; ``fit()`` may be called on a fresh or resumed state.

    ``rng_state`` is where the run's random stream starts (``torch.get_rng_state()`` after the model was
    initialised, so a run is a pure function of its seed); without it the stream starts from ``seed``."""

    def __init__(
        self,
        model: GenerativeModel,
        dataset: Dataset,
        config: TrainConfig,
        run: Run,
        *,
        seed: int = 0,
        rng_state: torch.Tensor | None = None,
        progress: ProgressFn | None = None,
        write_samples: SampleFn | None = None,
        distributed: Distributed | None = None,
    ) -> None:
        """``distributed``: this process's rank in a data-parallel group (see trainer/distributed.py)."""
        self.model, self.dataset, self.config, self.run = model, dataset, config, run
        self.distributed = distributed
        self.seed = seed
        self.progress = progress
        self.write_samples = write_samples
        groups = (
            model.optimizer_groups()
            if hasattr(model, "optimizer_groups")
            else {"main": list(model.parameters())}
        )
        self.optimizers = {name: make_optimizer(params, config) for name, params in groups.items()}
        exclude = tuple(getattr(model, "ema_exclude", ()))
        self.ema = EMA(model, config.ema_decay, exclude) if config.ema_decay > 0 else None
        self.rng_state = rng_state if rng_state is not None else make_generator(seed).get_state()
        self.step = 0
        self.elapsed_before = 0.0
        self.counters = Counters()
        self.best_weights: dict[str, dict[str, torch.Tensor]] | None = None
        self.post_pending = False  # the loaded checkpoint's step still owes its logging/validation/samples
        self._phase = "idle"  # "step" while a step mutates state, "post" while its logging etc. run
        self._live_rng = False
        self._samples_step: int | None = None  # the step whose samples were written last
        n = dataset.size("train")
        if n == 0:
            raise ConfigError(f"dataset {dataset.spec} has an empty training split")
        self.batch_size = min(config.batch_size, n)
        self.steps_per_epoch = max(n // self.batch_size, 1)
        self.privacy = None  # DP-SGD (trainer/dp.py): Poisson batches, per-sample clipping and noise
        if config.dp:
            from genforge.trainer.dp import private_training

            self.privacy = private_training(model, self.optimizers, config, n, self.batch_size)
        self.forward = model.loss
        if distributed is not None:
            if self.privacy is not None:
                raise ConfigError("DP training runs in one process: drop --distributed")
            distributed.check(model, self.batch_size)
            self.forward = distributed.wrap(model)

    # batching ------------------------------------------------------------------------------------
    def batch_at(self, step: int) -> dict[str, torch.Tensor]:
        """The training batch of (0-based) ``step``: a pure function of the seed and the step."""
        epoch, index = divmod(step, self.steps_per_epoch)
        split = self.dataset.split("train")
        if self.privacy is not None:  # Poisson sampling: each example joins with probability q
            ids = self.privacy.poisson_ids(self.seed, step, len(split["x"]))
        else:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            perm = torch.randperm(len(split["x"]), generator=gen)
            ids = perm[index * self.batch_size : (index + 1) * self.batch_size]
        if self.distributed is not None:
            ids = self.distributed.shard(ids)
        batch = {k: v[ids] for k, v in split.items()}
        if self.dataset.augment is not None:
            aug_gen = torch.Generator().manual_seed(self.seed * 7_919 + step)
            batch = self.dataset.augment(batch, aug_gen)
        return batch

    # one step ------------------------------------------------------------------------------------
    def _train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        self.model.train()
        factor = lr_factor(self.step, self.config, self.config.max_steps)
        for opt in self.optimizers.values():
            set_lr(opt, self.config.lr * factor)
        if hasattr(self.model, "train_step"):
            terms = dict(self.model.train_step(batch, self.optimizers, self.step))
        elif self.privacy is not None and len(batch["x"]) == 0:
            return {"lr": self.config.lr * factor}  # an empty Poisson batch: counted, nothing to learn
        else:
            opt = self.optimizers["main"] if self.privacy is None else self.privacy.optimizer
            opt.zero_grad(set_to_none=True)
            out = self.forward(batch)
            loss = out["loss"]
            finite = bool(torch.isfinite(loss))
            if self.distributed is not None:  # every rank skips the backward pass, or none does
                finite = self.distributed.all_true(finite)
            if not finite:
                value = float(loss.detach())
                return {"loss": value if not math.isfinite(value) else float("nan")}
            loss.backward()
            if self.privacy is not None:  # per-sample clipping and noise instead of global clipping
                grad_norm = 0.0
                self.privacy.step()
            else:
                grad_norm = clip_gradients(self.model.parameters(), self.config.grad_clip)
                opt.step()
            terms = {k: float(v.detach()) for k, v in out.items()}
            terms["grad_norm"] = grad_norm
        terms["lr"] = self.config.lr * factor
        return terms

    # validation and samples ----------------------------------------------------------------------
    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Mean loss terms over up to ``eval_batches`` validation batches (does not touch training RNG)."""
        self.model.eval()
        totals: dict[str, float] = {}
        count = 0
        with torch_rng_stream(seed=self.seed + 17):
            limit = self.config.eval_batches * self.batch_size
            for batch in self.dataset.batches("val", self.batch_size, limit=limit):
                out = self.model.loss(batch)
                size = len(batch["x"])
                for k, v in out.items():
                    totals[k] = totals.get(k, 0.0) + float(v) * size
                count += size
        return {k: v / max(count, 1) for k, v in totals.items()}

    def _samples(self) -> None:
        """Write samples with the EMA weights (when there is an EMA); the live weights come back even when
        the writing is interrupted."""
        if self.write_samples is None or not self._writes:
            return
        self._samples_step = self.step
        self.model.eval()
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            if self.ema is None:
                self.write_samples(self.model, self.step)
                return
            live = {k: v.clone() for k, v in self.model.state_dict().items()}
            try:
                self.model.load_state_dict(self.ema.weights_for(self.model))
                self.write_samples(self.model, self.step)
            finally:
                self.model.load_state_dict(live)

    # checkpoints ---------------------------------------------------------------------------------
    @property
    def _writes(self) -> bool:
        """Whether this process writes the run (every process but ranks other than 0)."""
        return self.distributed is None or self.distributed.is_writer

    def _log(self, records: list[dict[str, Any]]) -> None:
        if self._writes:
            self.run.log(records)

    def save_checkpoint(self, status: str, elapsed: float, **extra: Any) -> None:
        if not self._writes:
            return
        rng = torch.get_rng_state() if self._live_rng else self.rng_state
        tensors, meta = pack(self.model, self.optimizers, self.ema, self.best_weights, rng)
        meta.update(
            {
                "status": status,
                "epoch": self.step // self.steps_per_epoch,
                "elapsed_s": elapsed,
                "seed": self.seed,
                "counters": self.counters.to_json(),
                "post_pending": self.post_pending,
                **({"privacy": self.privacy.ledger(self.step)} if self.privacy else {}),
                **extra,
            }
        )
        self.run.save_checkpoint(self.step, tensors, meta)

    def load_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Restore everything :meth:`save_checkpoint` wrote (model, optimizers, EMA, RNG, counters)."""
        meta = checkpoint.meta
        self.best_weights, self.rng_state = unpack(
            checkpoint.tensors, meta, self.model, self.optimizers, self.ema
        )
        self.step = checkpoint.step
        self.elapsed_before = float(meta.get("elapsed_s", 0.0))
        self.counters = Counters.from_meta(meta)
        self.post_pending = bool(meta.get("post_pending", False))
        if self.privacy is not None and isinstance(meta.get("privacy"), dict):
            self.privacy.restore(meta["privacy"])

    # the loop ------------------------------------------------------------------------------------
    def fit(self, stop: StopSignals | None = None) -> TrainResult:
        """Train until the budget, early stopping or a stop signal; always ends with a checkpoint of a completed
        step (or keeps the last one, see the module docstring). ``stop``: :class:`StopSignals` the caller
        entered before building the trainer (a Ctrl-C during setup then stops the run at step 0, resumable)."""
        clock = Clock(self.elapsed_before)
        notes: list[str] = []
        snapshot = (self.counters.copy(), self.best_weights)
        save, status = True, "completed"
        if self._writes:
            self.run.drop_metrics_after(self.step - 1 if self.post_pending else self.step)
        signals = contextlib.nullcontext(stop) if stop is not None else StopSignals()
        with torch_rng_stream(state=self.rng_state), signals as stop:
            self._live_rng = True
            try:
                if self.step == 0 and not self.run.checkpoint_steps():
                    self.save_checkpoint("running", clock.elapsed())  # a new run is resumable at once
                    clock.checkpointed()
                while True:
                    if self.post_pending:
                        snapshot, self._phase = (self.counters.copy(), self.best_weights), "post"
                        stopped_early = self._after_step(clock)
                        self.post_pending = False
                        if stopped_early:
                            status = "early_stopped"
                            break
                    self._phase = "idle"
                    status = self._stop_reason(stop, clock)
                    if status:
                        break
                    self._phase = "step"
                    self._one_step()
                    self.post_pending = True
            except KeyboardInterrupt:
                status = "interrupted"
                if self._phase == "step":
                    save, self.post_pending = False, False
                    kept = self.run.checkpoint_steps()
                    self.step = kept[-1] if kept else 0
                    notes.append(
                        "interrupted in the middle of a step: the last checkpoint "
                        f"(step {self.step}) is kept and a resume continues from there"
                    )
                elif self._phase == "post":  # the step is saved; its logging/validation/samples are redone
                    self.counters, self.best_weights = snapshot
            self._phase = "idle"
            if status == "early_stopped":
                notes.append(self._restore_best())
            if save:
                self.save_checkpoint(status, clock.elapsed())
            if status != "interrupted" and self._samples_step != self.step:
                self._samples()
            self.rng_state = torch.get_rng_state()
            self._live_rng = False
        final = {f"train_{k}": v for k, v in self.counters.last_train.items()}
        val = self.counters.best_terms if status == "early_stopped" else self.counters.last_val
        final.update({f"val_{k}": v for k, v in val.items()})
        return TrainResult(
            run=self.run,
            status=status,
            step=self.step,
            elapsed_s=clock.elapsed(),
            metrics=final,
            notes=notes,
            stop_signal=stop.received if status == "interrupted" else None,
        )

    def _stop_reason(self, stop: StopSignals, clock: Clock) -> str:
        """Why the loop stops before the next step ("" to go on); the same on every rank."""
        reason = self._own_stop_reason(stop, clock)
        return reason if self.distributed is None else self.distributed.agree_stop(reason)

    def _own_stop_reason(self, stop: StopSignals, clock: Clock) -> str:
        if stop.received:
            return "interrupted"
        if self.config.max_steps is not None and self.step >= self.config.max_steps:
            return "completed"
        max_seconds = self.config.max_seconds
        if max_seconds is not None and clock.session() >= max_seconds:
            return "time_budget"
        if self.privacy is not None and not self.privacy.budget_left(self.step):
            return "privacy_budget"
        return ""

    def _one_step(self) -> None:
        if self.distributed is not None:
            self.distributed.seed_step(self.seed, self.step)
        terms = self._train_step(self.batch_at(self.step))
        if self.distributed is not None:
            terms = self.distributed.mean_terms(terms)
        bad = next((k for k, v in terms.items() if isinstance(v, float) and not math.isfinite(v)), None)
        if bad is not None:
            raise TrainingDiverged(self._divergence_message(bad, terms[bad]))
        self.step += 1
        if self.ema is not None:
            self.ema.update(self.model)
        window = self.counters.window
        for k, v in terms.items():
            window[k] = window.get(k, 0.0) + v
        self.counters.window_count += 1

    def _after_step(self, clock: Clock) -> bool:
        """Logging, validation, samples and checkpoints due after the step just completed; True when
        early stopping ends the run."""
        cfg, step = self.config, self.step
        if step % cfg.log_every == 0 or step == cfg.max_steps:
            self._log_train(clock)
        if step % cfg.eval_every == 0 or step == cfg.max_steps:  # a step budget ends validated
            val = self.validate()
            self.counters.last_val = val
            self._log([{"step": step, "split": "val", **val}])
            if self._early_stop(val):
                return True
        if step % cfg.sample_every == 0:
            self._samples()
        if step % cfg.checkpoint_every == 0 or clock.since_checkpoint() >= cfg.checkpoint_minutes * 60:
            self._phase, self.post_pending = "saving", False  # the step's other work is done
            self.save_checkpoint("running", clock.elapsed())
            clock.checkpointed()
        return False

    def _log_train(self, clock: Clock) -> None:
        c = self.counters
        if not c.window_count:
            return
        record = {k: v / c.window_count for k, v in c.window.items()}
        if self.privacy is not None:
            record["epsilon"] = self.privacy.epsilon(self.step)
        rate = c.window_count * self.batch_size / max(clock.since_window(), 1e-9)
        c.last_train, c.window, c.window_count = record, {}, 0
        clock.window_started()
        self._log(
            [
                {
                    "step": self.step,
                    "split": "train",
                    **record,
                    "samples_per_s": rate,
                    "elapsed_s": clock.elapsed(),
                }
            ]
        )
        if self.progress:
            self.progress(
                {
                    "run": str(self.run.path),
                    "step": self.step,
                    "max_steps": self.config.max_steps,
                    "max_seconds": self.config.max_seconds,
                    "elapsed_s": clock.session(),
                    "terms": record,
                    "samples_per_s": rate,
                }
            )

    def _early_stop(self, val: dict[str, float]) -> bool:
        c = self.counters
        if c.best_val is None or val["loss"] < c.best_val - 1e-6:
            c.best_val, c.best_step, c.best_terms, c.evals_since_best = val["loss"], self.step, dict(val), 0
            if self.config.early_stop_patience > 0:
                self.best_weights = {"model": clone_state(self.model.state_dict())}
                if self.ema is not None:
                    self.best_weights["ema"] = clone_state(self.ema.state_dict())
            return False
        c.evals_since_best += 1
        patience = self.config.early_stop_patience
        return patience > 0 and c.evals_since_best >= patience

    def _restore_best(self) -> str:
        """Put the weights of the best validation back (model and EMA); the note says so."""
        c = self.counters
        if self.best_weights is None:
            return f"early stopped at step {self.step}; no better weights to restore"
        self.model.load_state_dict(self.best_weights["model"])
        if self.ema is not None and "ema" in self.best_weights:
            self.ema.load_state_dict(self.best_weights["ema"], self.ema.updates)
        self._log(
            [
                {
                    "step": self.step,
                    "split": "event",
                    "event": "early_stopped",
                    "restored_step": c.best_step,
                    "best_val_loss": c.best_val,
                }
            ]
        )
        return (
            f"early stopped at step {self.step}: the weights of step {c.best_step} "
            f"(best validation loss {c.best_val:.4g}) are restored"
        )

    def _divergence_message(self, term: str, value: float) -> str:
        steps = self.run.checkpoint_steps()
        kept = (
            f"the last good checkpoint (step {steps[-1]}) is kept"
            if steps
            else "no checkpoint had been written yet"
        )
        return (
            f"training diverged: '{term}' became {value} at step {self.step + 1}; {kept} in {self.run.path}. "
            "Lower the learning rate (--set lr=...) or enable clipping (--set grad_clip=1.0)"
        )

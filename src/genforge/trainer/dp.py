"""Differentially private training (DP-SGD, Abadi et al. 2016) inside the one trainer loop, through Opacus.

Opacus supplies the parts that must be right: per-sample gradients (``GradSampleModule`` hooks), per-sample
clipping to ``max_grad_norm`` plus Gaussian noise of std ``noise_multiplier x max_grad_norm``
(``DPOptimizer``), the accountants (PRV, Gopi et al. 2021, reported; RDP, Mironov 2017, reported beside it)
and the search for the noise that reaches a target epsilon. genforge supplies the rest so that a DP run
keeps every promise of a plain run:

- **Poisson sampling** is done by the trainer's own batching: each training example joins the batch of
  step ``s`` with probability ``q = batch_size / N``, drawn from a generator seeded by ``(seed, s)``, so the
  batch is still a pure function of the seed and the step (exact resume), and the accountant's
  subsampling assumption holds.
- **The accountant state** is its history ``[(sigma, q, steps)]``; sigma and q are fixed for the run, so
  the state is the step count the checkpoint already holds, and a resumed run reports exactly the epsilon
  an uninterrupted one does.
- **A hard budget**: before each step the loop asks :meth:`PrivateTraining.budget_left`; with a target
  epsilon no step that would exceed it is taken (status ``privacy_budget``).
- The noise is drawn from the run's own RNG stream (Opacus draws from torch's global generator, which the
  trainer scopes to the run), so noise is reproducible and saved with the checkpoint.

Layers Opacus cannot compute per-sample gradients for are named with the fix.

**Adversarial families (GAN, CTGAN): DP on the discriminator only.** The discriminator (critic) alone
touches the training data, so it alone is trained privately; the generator learns only through the private
discriminator's outputs, which is post-processing and costs no privacy (Xie et al. 2018, "Differentially
Private GAN"; the scheme of Opacus' DCGAN example). The family's ``private_part(batch_size)`` names the
part and switches its ``train_step`` to the private form; the trainer's optimizer dict gets that part's
``DPOptimizer`` in place of its optimizer (its state dict is the wrapped optimizer's, so checkpoints and
exact resume are unchanged). Why the accounting holds:

- The real batch is the trainer's Poisson sample (rate ``q``), as for the other families.
- Each real example ``i`` is **paired with one fresh fake** (drawn from the run's RNG, independent of the
  data) and the discriminator's per-example loss is ``l_real(i) + l_fake(i)``: Opacus' hooks add the
  per-sample gradients of the two forward passes index by index, so each pair is clipped to ``C`` as one
  unit before the noise. Adding or removing one training example adds or removes one clipped pair term
  (the other fakes are i.i.d. draws either way), so the noisy sum has sensitivity ``C`` and the subsampled
  Gaussian accountant applies with rate ``q``, one accountant step per discriminator step.
- Hence **one discriminator update per trainer step** (``n_critic = 1``: a second update on the same
  Poisson batch is not a fresh subsample) and nothing that mixes examples inside the discriminator's
  loss: no PacGAN packing (``pac = 1``), no gradient penalty (its input gradients need a double backward
  pass that Opacus' per-sample hooks do not take). GAN then uses the ``ns`` or ``hinge`` loss; CTGAN a
  weight-clipped Wasserstein critic (Arjovsky et al. 2017).
- The generator's update draws a **fixed number of fakes** (the expected batch size), not the size of
  the Poisson batch, so the generator's step depends on the private data only through the noisy
  discriminator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from genforge.core.errors import ConfigError, require

ACCOUNTANTS = ("prv", "rdp")


@dataclass
class PrivacySettings:
    """The resolved DP-SGD parameters of a run (written to the run and its model card)."""

    noise_multiplier: float
    max_grad_norm: float
    sample_rate: float
    delta: float
    target_epsilon: float | None
    max_steps: int | None  # steps the target epsilon allows (None: no target, no budget)
    accountant: str

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def resolve_settings(config, num_examples: int, batch_size: int) -> PrivacySettings:
    """Noise multiplier, sample rate and step budget from a TrainConfig with ``dp`` on."""
    require("opacus", "privacy")
    delta = config.dp_delta if config.dp_delta is not None else 1.0 / (10 * num_examples)
    if delta >= 1.0 / num_examples:
        raise ConfigError(
            f"--delta {delta:g} is not below 1/N = {1 / num_examples:.3g} ({num_examples} training examples): "
            "such a delta allows publishing a whole record; use a smaller delta"
        )
    if config.dp_epsilon is None and config.dp_noise_multiplier is None:
        raise ConfigError("DP training needs a target --epsilon or a --noise-multiplier")
    sample_rate = batch_size / num_examples
    sigma = config.dp_noise_multiplier
    if sigma is None:
        if config.max_steps is None:
            raise ConfigError(
                "DP training with a target --epsilon needs --max-steps (the noise is set for them)"
            )
        from opacus.accountants.utils import get_noise_multiplier

        try:
            sigma = get_noise_multiplier(
                target_epsilon=config.dp_epsilon, target_delta=delta, sample_rate=sample_rate,
                steps=config.max_steps, accountant=config.dp_accountant, epsilon_tolerance=0.005,
            )  # fmt: skip
        except ValueError:
            raise ConfigError(f"epsilon {config.dp_epsilon:g} is too small to reach with any noise") from None
    settings = PrivacySettings(float(sigma), config.dp_max_grad_norm, sample_rate, delta, config.dp_epsilon,
                               None, config.dp_accountant)  # fmt: skip
    if config.dp_epsilon is not None:
        settings.max_steps = steps_within(settings, config.dp_epsilon)
        if settings.max_steps == 0:
            raise ConfigError(
                f"noise multiplier {sigma:g} spends more than epsilon {config.dp_epsilon:g} in one step: "
                "raise --noise-multiplier or --epsilon"
            )
    return settings


def epsilon_after(settings: PrivacySettings, steps: int, accountant: str | None = None) -> float:
    """Epsilon spent after ``steps`` steps (at the run's delta) by ``accountant`` (the run's by default)."""
    if steps == 0:
        return 0.0
    from opacus.accountants import create_accountant

    acc = create_accountant(mechanism=accountant or settings.accountant)
    acc.history = [(settings.noise_multiplier, settings.sample_rate, steps)]
    return float(acc.get_epsilon(delta=settings.delta))


def steps_within(settings: PrivacySettings, epsilon: float) -> int:
    """The largest step count whose epsilon does not exceed ``epsilon`` (binary search)."""
    low, high = 0, 1
    while epsilon_after(settings, high) <= epsilon:
        low, high = high, high * 2
        if high > 10**7:
            return low
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if epsilon_after(settings, mid) <= epsilon else (low, mid)
    return low


def private_training(model, optimizers: dict, config, num_examples: int, batch_size: int) -> PrivateTraining:
    """DP-SGD for a trainer: on the whole model for families that step one optimizer through ``loss``, on
    the discriminator for adversarial families (``optimizers`` then gets its DP optimizer in place)."""
    if hasattr(model, "private_part"):  # adversarial: DP on the discriminator (see the module docstring)
        name, part = model.private_part(batch_size)
        training = PrivateTraining(part, optimizers[name], resolve_settings(config, num_examples, batch_size),
                                   batch_size)  # fmt: skip
        optimizers[name] = training.optimizer
        return training
    if hasattr(model, "train_step") or len(optimizers) != 1:
        raise ConfigError(
            f"DP training is wired for single-optimizer families and for GAN/CTGAN discriminators, "
            f"not for {type(model).__name__}"
        )
    settings = resolve_settings(config, num_examples, batch_size)
    return PrivateTraining(model, optimizers["main"], settings, batch_size)


class PrivateTraining:
    """Per-sample gradients, clipping and noise for one model and optimizer, and the privacy ledger."""

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, settings: PrivacySettings,
                 batch_size: int) -> None:  # fmt: skip
        require("opacus", "privacy")
        import warnings

        # Opacus' functorch path (layers without a registered rule, e.g. the GPT's tied embedding) opens a
        # CPU autocast context for float32 and warns that it disables it; nothing is wrong, so say nothing
        warnings.filterwarnings(
            "ignore", message="In CPU autocast, but the target dtype", category=UserWarning
        )
        from opacus import GradSampleModule
        from opacus.optimizers import DPOptimizer
        from opacus.validators import ModuleValidator

        errors = ModuleValidator.validate(model, strict=False)
        if errors:
            first = str(errors[0]).splitlines()[0]
            raise ConfigError(
                f"Opacus cannot train this model privately: {first} "
                "(use GroupNorm instead of BatchNorm, no in-place activations)"
            )
        own = [name for name, p in model.named_parameters(recurse=False) if p.requires_grad]
        if own:
            raise ConfigError(
                f"Opacus cannot train this model privately: parameter(s) {', '.join(own)} belong to the model "
                "itself, not to a layer (per-sample gradients are computed per layer: move them into an nn.Module)"
            )
        self.model = model
        self.settings = settings
        self._spent: dict[tuple[int, str], float] = {}
        try:
            self.hooks = GradSampleModule(model, batch_first=True, loss_reduction="mean")
        except NotImplementedError as exc:  # Opacus lists every unsupported layer; the first names one
            errors = exc.args[0] if exc.args and isinstance(exc.args[0], list) else [exc]
            first = str(errors[0]).splitlines()[0].rstrip("(")
            raise ConfigError(
                f"Opacus cannot train this model privately: {first} "
                f"({len(errors)} such layer(s); a layer with buffers or parameters outside nn.Linear/Conv/"
                "Norm/Embedding layers needs rewriting as such layers)"
            ) from None
        self.optimizer = DPOptimizer(
            optimizer,
            noise_multiplier=settings.noise_multiplier,
            max_grad_norm=settings.max_grad_norm,
            expected_batch_size=batch_size,
            loss_reduction="mean",
        )

    def epsilon(self, steps_done: int, accountant: str | None = None) -> float:
        """Epsilon after ``steps_done`` steps (remembered: the PRV accountant takes a fraction of a second)."""
        key = (steps_done, accountant or self.settings.accountant)
        if key not in self._spent:
            self._spent[key] = epsilon_after(self.settings, steps_done, key[1])
        return self._spent[key]

    def step(self) -> None:
        """Clip each example's gradient, add the noise and take the optimizer step."""
        try:
            self.optimizer.step()
        except RuntimeError as exc:  # per-sample gradients whose first dimension is not the batch
            if "stack expects each tensor" not in str(exc):
                raise
            sizes = {
                n: p.grad_sample.shape[0]
                for n, p in self.model.named_parameters()
                if p.grad_sample is not None
            }
            usual = max(set(sizes.values()), key=list(sizes.values()).count)
            odd = [n for n, size in sizes.items() if size != usual]
            raise ConfigError(
                f"Opacus cannot train this model privately: {', '.join(odd[:4])} are applied to tensors whose "
                "first dimension is not the batch (e.g. a position embedding), so per-sample gradients are "
                "undefined; expand them over the batch first"
            ) from None
        except ValueError as exc:
            if "Per sample gradient" not in str(exc):
                raise
            missing = [
                n for n, p in self.model.named_parameters() if p.requires_grad and p.grad_sample is None
            ]
            raise ConfigError(
                f"Opacus cannot train this model privately: no per-sample gradient for {', '.join(missing[:4])} "
                "(the layer is used outside a module's forward; wrap it in an nn.Module)"
            ) from None

    def restore(self, saved: dict[str, Any]) -> None:
        """Continue with the noise a checkpoint was trained with (a resume with a new step budget would
        otherwise solve for another sigma and break the ledger); the budget then follows from it."""
        sigma = float(saved["noise_multiplier"])
        if sigma == self.settings.noise_multiplier:
            return
        self.settings.noise_multiplier = sigma
        self.optimizer.noise_multiplier = sigma
        self._spent.clear()
        if self.settings.target_epsilon is not None:
            self.settings.max_steps = steps_within(self.settings, self.settings.target_epsilon)

    def poisson_ids(self, seed: int, step: int, num_examples: int) -> torch.Tensor:
        """The examples of ``step``'s batch: each joins with probability ``q``, drawn from ``(seed, step)``."""
        gen = torch.Generator().manual_seed(seed * 1_000_003 + 999_983 * (step + 1))
        joins = torch.rand(num_examples, generator=gen) < self.settings.sample_rate
        return joins.nonzero().reshape(-1)

    def budget_left(self, steps_done: int) -> bool:
        return self.settings.max_steps is None or steps_done < self.settings.max_steps

    def ledger(self, steps_done: int) -> dict[str, Any]:
        """What was spent after ``steps_done`` steps: epsilon (the run's accountant) and RDP's beside it."""
        record = {
            "epsilon": self.epsilon(steps_done),
            "delta": self.settings.delta,
            "accountant": self.settings.accountant,
            "steps": steps_done,
            **{k: v for k, v in self.settings.to_json().items() if k not in ("delta", "accountant")},
        }
        if self.settings.accountant != "rdp":
            record["epsilon_rdp"] = self.epsilon(steps_done, "rdp")
        return record

    def close(self) -> None:
        """Remove the per-sample gradient hooks from the model."""
        self.hooks._close()

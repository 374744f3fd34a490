"""CTGAN: a conditional Wasserstein GAN for mixed-type table rows (Xu et al. 2019, "Modeling Tabular
Data using Conditional GAN").

Rows arrive encoded by :class:`~genforge.data.table_transform.TableTransform`. The pieces of the paper:

- **Conditional vector**: one category of one discrete column, one-hot over all discrete categories,
  fed to the generator and, beside each row, to the critic; the generator is also penalised by the
  cross-entropy between its output for that column and the asked category, so it learns to honour it.
- **Training-by-sampling**: the column is drawn uniformly and the category with probability proportional
  to log(1 + count), so rare categories are trained on. The trainer hands us uniformly drawn rows; we
  draw a column per row and resample the batch with weights ``p_log(category) / p_data(category)``,
  which gives rows distributed as the paper's sampler would draw them (counts from the training split,
  ``info.extra["discrete"]``).
- **PacGAN** (Lin et al. 2018): the critic judges ``pac`` rows at once; **WGAN-GP** loss (Gulrajani et
  al. 2017) with the gradient penalty on interpolates.
- Generator: residual blocks (Linear, BatchNorm, ReLU, concatenated with the input); output activated
  per span with Gumbel-softmax (:mod:`genforge.nn.table_heads`). Critic: Linear, LeakyReLU, Dropout.

Under DP training (``--dp``; the accounting is in :mod:`genforge.trainer.dp`) the critic alone is private
and the step takes its private form (:meth:`CTGAN.private_part`): each Poisson-sampled row is seen once,
conditioned on its own category in a random discrete column and paired with one fake of the same
condition (training-by-sampling is dropped: its resampling repeats rows, so one row could weigh more than
the clipping norm); ``pac = 1`` (a pack would mix rows in one clipped gradient); the gradient penalty is
replaced by clipping the critic's weights to ``±dp_weight_clip`` after each update (the original WGAN,
Arjovsky et al. 2017; the penalty needs input gradients that Opacus cannot take per example). The
generator trains on conditions drawn from the log-frequencies, never from the private batch. The
category counts themselves come from the table transform, fitted outside DP as for TVAE.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from genforge.core.config import Config
from genforge.core.errors import ConfigError
from genforge.data.info import DataInfo
from genforge.models.base import GenerativeModel, register_model
from genforge.nn.table_heads import draw_rows, gumbel_activate


class CTGANConfig(Config):
    latent_dim: int = Field(128, ge=1, le=1024, description="size of the generator's noise input")
    generator_dims: list[int] = Field([256, 256], min_length=1, description="generator residual block widths")
    critic_dims: list[int] = Field([256, 256], min_length=1, description="critic hidden widths")
    pac: int = Field(10, ge=1, description="rows the critic judges together (PacGAN)")
    n_critic: int = Field(1, ge=1, description="critic updates per generator update")
    gp_weight: float = Field(10.0, ge=0, description="weight of the gradient penalty")
    tau: float = Field(0.2, gt=0, description="Gumbel-softmax temperature of the generator's categories")
    log_frequency: bool = Field(
        True, description="train on categories drawn by log frequency (else by frequency)"
    )
    dp_weight_clip: float = Field(
        0.01, gt=0, description="with --dp: critic weights clipped to ±this after each update (no penalty)"
    )


class Residual(nn.Module):
    def __init__(self, i: int, o: int) -> None:
        super().__init__()
        self.fc, self.bn = nn.Linear(i, o), nn.BatchNorm1d(o)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([F.relu(self.bn(self.fc(x))), x], dim=1)


@register_model(
    "ctgan",
    config=CTGANConfig,
    data_kinds=("table",),
    train_defaults={
        "lr": 2e-4,
        "betas": [0.5, 0.9],
        "weight_decay": 1e-6,
        "batch_size": 500,
        "eval_every": 250,
    },
)
class CTGAN(GenerativeModel):
    """Conditional generator + PacGAN critic on encoded rows ``(B, width)``."""

    ema_exclude = ("critic.",)

    def __init__(self, config: CTGANConfig, info: DataInfo) -> None:
        super().__init__(config, info)
        if "spans" not in info.extra:
            raise ConfigError("ctgan trains on synth: tables (e.g. --data synth:adult)")
        self.spans = [tuple(s) for s in info.extra["spans"]]
        self.discrete = [d for d in info.extra.get("discrete", []) if len(d["categories"]) > 1]
        width = info.shape[0]
        offsets, total = [], 0
        for d in self.discrete:
            offsets.append(total)
            total += len(d["categories"])
        self.cond_offsets, self.cond_dim = offsets, total
        layers: list[nn.Module] = []
        size = config.latent_dim + total
        for h in config.generator_dims:
            layers.append(Residual(size, h))
            size += h
        self.generator = nn.Sequential(*layers, nn.Linear(size, width))
        critic: list[nn.Module] = []
        size = (width + total) * config.pac
        for h in config.critic_dims:
            critic += [nn.Linear(size, h), nn.LeakyReLU(0.2), nn.Dropout(0.5)]
            size = h
        self.critic = nn.Sequential(*critic, nn.Linear(size, 1))
        for name, probs in (("train_probs", config.log_frequency), ("data_probs", False)):
            self.register_buffer(name, self._category_probs(probs), persistent=False)
        self.private_batch: int | None = None  # set by private_part: DP training on the critic

    def _category_probs(self, log: bool) -> torch.Tensor:
        """(columns, max categories) sampling probabilities of each discrete column's categories."""
        widest = max((len(d["categories"]) for d in self.discrete), default=1)
        out = torch.zeros(max(len(self.discrete), 1), widest)
        for j, d in enumerate(self.discrete):
            counts = torch.tensor(d.get("counts") or [1] * len(d["categories"]), dtype=torch.float32)
            weights = torch.log1p(counts) if log else counts
            out[j, : len(counts)] = weights / weights.sum()
        return out

    # -- conditional vectors ------------------------------------------------------------------------
    def _cond(self, columns: torch.Tensor, categories: torch.Tensor) -> torch.Tensor:
        cond = torch.zeros(len(columns), self.cond_dim)
        if self.cond_dim:
            offsets = torch.tensor(self.cond_offsets)[columns]
            cond[torch.arange(len(columns)), offsets + categories] = 1.0
        return cond

    def _drawn_conditions(
        self, n: int, probs: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(columns, categories) of ``n`` conditions: a uniform discrete column, a category by ``probs``."""
        if not self.discrete:
            return torch.zeros(n, dtype=torch.long), torch.zeros(n, dtype=torch.long)
        columns = torch.randint(len(self.discrete), (n,), generator=generator)
        return columns, torch.multinomial(probs[columns], 1, generator=generator)[:, 0]

    def _row_conditions(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(columns, categories): a uniform discrete column per row and the row's own category in it."""
        if not self.discrete:
            return torch.zeros(len(x), dtype=torch.long), torch.zeros(len(x), dtype=torch.long)
        columns = torch.randint(len(self.discrete), (len(x),))
        starts = torch.tensor([d["start"] for d in self.discrete])[columns]
        widths = torch.tensor([len(d["categories"]) for d in self.discrete])[columns]
        window = torch.arange(self.train_probs.shape[1])
        mask = window[None, :] < widths[:, None]
        index = (starts[:, None] + window[None, :]).clamp(max=x.shape[1] - 1)
        return columns, (x.gather(1, index) * mask).argmax(1)

    def _resampled(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Training-by-sampling on a uniform batch: (rows, columns, categories), ``len`` a multiple of pac."""
        n = len(x) - len(x) % self.config.pac
        if n == 0:
            raise ConfigError(f"ctgan needs batches of at least pac={self.config.pac} rows")
        if not self.discrete:
            return x[:n], torch.zeros(n, dtype=torch.long), torch.zeros(n, dtype=torch.long)
        columns, categories = self._row_conditions(x)
        weight = self.train_probs[columns, categories] / self.data_probs[columns, categories].clamp_min(1e-12)
        pick = torch.multinomial(weight, n, replacement=True)
        return x[pick], columns[pick], categories[pick]

    # -- pieces -------------------------------------------------------------------------------------
    def _generate(self, cond: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        z = torch.randn(len(cond), self.config.latent_dim, generator=generator)
        return self.generator(torch.cat([z, cond], dim=1))

    def _score(self, rows: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        joined = torch.cat([rows, cond], dim=1)
        return self.critic(joined.reshape(-1, joined.shape[1] * self.config.pac))

    def _penalty(self, real: torch.Tensor, fake: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        alpha = torch.rand(len(real) // self.config.pac, 1, 1).expand(-1, self.config.pac, 1).reshape(-1, 1)
        mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        (grad,) = torch.autograd.grad(self._score(mixed, cond).sum(), mixed, create_graph=True)
        grad = grad.reshape(-1, grad.shape[1] * self.config.pac)
        return (grad.norm(dim=1) - 1.0).pow(2).mean()

    def _cond_loss(self, raw: torch.Tensor, columns: torch.Tensor, categories: torch.Tensor) -> torch.Tensor:
        if not self.discrete:
            return raw.new_zeros(())
        losses = []
        for j, d in enumerate(self.discrete):
            rows = columns == j
            if rows.any():
                logits = raw[rows, d["start"] : d["start"] + len(d["categories"])]
                losses.append(F.cross_entropy(logits, categories[rows], reduction="sum"))
        return torch.stack(losses).sum() / len(raw)

    # -- protocol -----------------------------------------------------------------------------------
    def optimizer_groups(self) -> dict[str, list[nn.Parameter]]:
        return {"generator": list(self.generator.parameters()), "critic": list(self.critic.parameters())}

    def private_part(self, batch_size: int) -> tuple[str, nn.Module]:
        """DP training: the critic is the private part (its optimizer's name and module); steps then take the
        private form of the module docstring, the generator's with ``batch_size`` conditions."""
        for key, value in (("pac", self.config.pac), ("n_critic", self.config.n_critic)):
            if value != 1:
                raise ConfigError(
                    f"DP training clips one row's gradient at a time, so it needs {key}=1 (got {value}): "
                    f"use --set {key}=1 with --dp"
                )
        self.private_batch = batch_size
        return "critic", self.critic

    def train_step(
        self, batch: dict[str, torch.Tensor], optimizers: dict[str, Any], step: int
    ) -> dict[str, float]:
        """``n_critic`` WGAN-GP critic updates, then one generator update (Wasserstein + condition loss)."""
        if self.private_batch is not None:
            return self._private_step(batch["x"], optimizers)
        for _ in range(self.config.n_critic):
            real, columns, categories = self._resampled(batch["x"])
            cond = self._cond(columns, categories)
            with torch.no_grad():
                fake = gumbel_activate(self._generate(cond), self.spans, self.config.tau)
            wasserstein = self._score(fake, cond).mean() - self._score(real, cond).mean()
            penalty = self._penalty(real, fake, cond)
            optimizers["critic"].zero_grad(set_to_none=True)
            (wasserstein + self.config.gp_weight * penalty).backward()
            optimizers["critic"].step()
        _, columns, categories = self._resampled(batch["x"])
        g_adv, cond_loss = self._generator_step(columns, categories, optimizers)
        figures = {
            "critic_wasserstein": wasserstein,
            "gradient_penalty": penalty,
            "g_loss": g_adv,
            "cond_loss": cond_loss,
        }
        return {"loss": float(wasserstein.detach()), **{k: float(v.detach()) for k, v in figures.items()}}

    def _generator_step(
        self, columns: torch.Tensor, categories: torch.Tensor, optimizers: dict[str, Any]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One generator update on the conditions (``columns``, ``categories``): (adversarial, condition) loss."""
        cond = self._cond(columns, categories)
        raw = self._generate(cond)
        g_adv = -self._score(gumbel_activate(raw, self.spans, self.config.tau), cond).mean()
        cond_loss = self._cond_loss(raw, columns, categories)
        optimizers["generator"].zero_grad(set_to_none=True)
        (g_adv + cond_loss).backward()
        optimizers["generator"].step()
        return g_adv, cond_loss

    def _private_step(self, x: torch.Tensor, optimizers: dict[str, Any]) -> dict[str, float]:
        """One weight-clipped critic update on the Poisson batch ``x`` (each row beside one fake of its own
        condition), then a generator update on conditions drawn independently of ``x``."""
        terms: dict[str, float] = {}
        if len(x):  # an empty Poisson batch updates the generator only
            cond = self._cond(*self._row_conditions(x))
            with torch.no_grad():
                fake = gumbel_activate(self._generate(cond), self.spans, self.config.tau)
            wasserstein = self._score(fake, cond).mean() - self._score(x, cond).mean()
            optimizers["critic"].zero_grad(set_to_none=True)
            wasserstein.backward()
            optimizers["critic"].step()
            with torch.no_grad():
                for p in self.critic.parameters():
                    p.clamp_(-self.config.dp_weight_clip, self.config.dp_weight_clip)
            terms = {"loss": float(wasserstein.detach()), "critic_wasserstein": float(wasserstein.detach())}
        columns, categories = self._drawn_conditions(self.private_batch, self.train_probs)
        g_adv, cond_loss = self._generator_step(columns, categories, optimizers)
        return {**terms, "g_loss": float(g_adv.detach()), "cond_loss": float(cond_loss.detach())}

    def loss(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Validation: the critic's Wasserstein estimate and the condition loss (no update)."""
        real, columns, categories = self._resampled(batch["x"])
        cond = self._cond(columns, categories)
        raw = self._generate(cond)
        fake = gumbel_activate(raw, self.spans, self.config.tau)
        wasserstein = self._score(fake, cond).mean() - self._score(real, cond).mean()
        return {"loss": wasserstein, "cond_loss": self._cond_loss(raw, columns, categories)}

    @torch.no_grad()
    def eval_terms(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The condition loss of generated rows per test batch (how well conditions are honoured)."""
        terms = self.loss(batch)
        return {"cond_loss": terms["cond_loss"].expand(len(batch["x"]))}

    def condition_index(self, column: str, value: str) -> tuple[int, int]:
        """(discrete column index, category index) of ``column=value`` for :meth:`sample`."""
        for j, d in enumerate(self.discrete):
            if d["column"] == column and value in d["categories"]:
                return j, d["categories"].index(value)
        raise ConfigError(f"ctgan has no condition {column}={value}")

    @torch.no_grad()
    def sample(
        self,
        n: int,
        *,
        generator: torch.Generator | None = None,
        condition: tuple[int, int] | None = None,
        **opts: Any,
    ) -> torch.Tensor:
        """``n`` encoded rows; conditional vectors drawn by the data's category frequencies, or all set to
        ``condition`` = (discrete column, category) (see :meth:`condition_index`)."""
        if condition is not None:
            columns = torch.full((n,), condition[0], dtype=torch.long)
            categories = torch.full((n,), condition[1], dtype=torch.long)
        else:
            columns, categories = self._drawn_conditions(n, self.data_probs, generator)
        raw = self._generate(self._cond(columns, categories), generator)
        return draw_rows(raw, self.spans, generator=generator, discrete="sample")

"""The trainer's one config object, budgets included.

Budgets are typed fields resolved here once, for a new run and a resumed one alike
(:meth:`TrainConfig.with_budget`): budgets given for this session replace the config's, and when no step
budget is left the time budget defaults to :data:`DEFAULT_MAX_MINUTES`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from genforge.core.config import Config

DEFAULT_MAX_MINUTES = 5.0
# samples drawn for the pictures written during training, per data kind, unless num_samples says otherwise
DEFAULT_NUM_SAMPLES = {"image": 64, "points": 2000, "tokens": 4}


class TrainConfig(Config):
    optimizer: Literal["adam", "adamw", "sgd"] = Field("adam", description="optimizer: adam, adamw or sgd")
    lr: float = Field(1e-3, gt=0, description="base learning rate")
    betas: tuple[float, float] = Field((0.9, 0.999), description="Adam/AdamW betas")
    weight_decay: float = Field(
        0.0,
        ge=0,
        description="weight decay (decoupled for adamw) of weight matrices, never of biases/norm gains",
    )
    momentum: float = Field(0.9, ge=0, lt=1, description="SGD momentum")
    nesterov: bool = Field(False, description="Nesterov momentum for SGD")
    schedule: Literal["constant", "step", "cosine", "warmup_cosine", "onecycle"] = Field(
        "constant", description="learning-rate schedule"
    )
    warmup_steps: int = Field(100, ge=1, description="linear warm-up steps for warmup_cosine")
    step_size: int = Field(1000, ge=1, description="steps between decays for the step schedule")
    gamma: float = Field(0.5, gt=0, description="decay factor for the step schedule")
    min_lr_ratio: float = Field(
        0.0, ge=0, le=1, description="final lr as a fraction of lr (cosine, onecycle)"
    )
    cosine_steps: int = Field(
        5000, ge=1, description="schedule length when only --max-minutes bounds the run"
    )
    batch_size: int = Field(128, ge=1, description="examples per step")
    max_steps: int | None = Field(None, ge=1, description="stop after this many optimizer steps")
    max_minutes: float | None = Field(
        None,
        gt=0,
        description=f"stop after this much wall time in this session ({DEFAULT_MAX_MINUTES:g} without max_steps)",
    )
    grad_clip: float = Field(0.0, ge=0, description="clip the global gradient norm (0 = off)")
    ema_decay: float = Field(0.0, ge=0, lt=1, description="EMA of weights used for sampling/eval (0 = off)")
    eval_every: int = Field(200, ge=1, description="validate every this many steps")
    eval_batches: int = Field(8, ge=1, description="validation batches per evaluation")
    sample_every: int = Field(500, ge=1, description="write a sample grid every this many steps")
    checkpoint_every: int = Field(500, ge=1, description="checkpoint every this many steps")
    checkpoint_minutes: float = Field(
        1.0, gt=0, description="also checkpoint when this many minutes passed since the last checkpoint"
    )
    log_every: int = Field(25, ge=1, description="append training metrics every this many steps")
    early_stop_patience: int = Field(
        0,
        ge=0,
        description="stop after this many evaluations without improvement and restore the best weights (0 = off)",
    )
    num_samples: int | None = Field(
        None,
        ge=1,
        le=10_000,
        description="samples in each picture written during training (default 64 images, 2000 points, 4 texts)",
    )
    final_eval: bool = Field(
        True, description="evaluate on the test split when training ends (writes eval.json)"
    )
    dp: bool = Field(False, description="differentially private training (DP-SGD through Opacus)")
    dp_epsilon: float | None = Field(
        None, gt=0, description="DP target epsilon: the noise is set for it, a hard budget"
    )
    dp_delta: float | None = Field(
        None, gt=0, lt=1, description="DP delta (default 1/(10 N), must be below 1/N)"
    )
    dp_noise_multiplier: float | None = Field(None, gt=0, description="DP noise std over the clipping norm")
    dp_max_grad_norm: float = Field(1.0, gt=0, description="DP per-sample gradient clipping norm C")
    dp_accountant: Literal["prv", "rdp"] = Field(
        "prv", description="DP accountant for epsilon (rdp also reported)"
    )

    @model_validator(mode="before")
    @classmethod
    def _default_time_budget(cls, values: Any) -> Any:
        if isinstance(values, dict) and values.get("max_steps") is None and values.get("max_minutes") is None:
            return {**values, "max_minutes": DEFAULT_MAX_MINUTES}
        return values

    def with_budget(self, max_steps: int | None = None, max_minutes: float | None = None) -> TrainConfig:
        """This config with the budgets given for a session (``--max-steps``/``--max-minutes``).

        Giving either replaces both (the one not given becomes unlimited); giving neither keeps this
        config's budget. ``max_minutes`` always bounds one session: a resumed run gets it afresh.
        """
        if max_steps is None and max_minutes is None:
            return self
        values = {**self.model_dump(), "max_steps": max_steps, "max_minutes": max_minutes}
        return TrainConfig.build(values, where="train")

    @property
    def max_seconds(self) -> float | None:
        return None if self.max_minutes is None else self.max_minutes * 60

    def samples_for(self, kind: str) -> int:
        """Samples per picture written during training for data of ``kind``."""
        return self.num_samples or DEFAULT_NUM_SAMPLES.get(kind, 64)

"""The structure of a fine-tune run's model: LoRA adapters and frozen parameters, from its config.

``pipelines/finetune.py`` records ``transfer: {lora, freeze, parent, ...}`` in a run's config and
``pipelines/loading.py`` calls :func:`apply_transfer` whenever it builds that run's model, so a resumed
fine-tune has exactly the trainable parameters (and optimizer state) it had.
"""

from __future__ import annotations

import fnmatch
from typing import Any

import torch

from genforge.core.errors import ConfigError
from genforge.transfer.lora import LoraConfig, apply_lora


def apply_transfer(model: torch.nn.Module, transfer: dict[str, Any] | None) -> None:
    """Give ``model`` the structure a fine-tune run trains: adapters and/or frozen parameters."""
    if not transfer:
        return
    if transfer.get("lora") is not None:
        with torch.random.fork_rng(devices=[]):  # adapter init draws from a copy: the caller's RNG moves not
            apply_lora(model, LoraConfig.build(transfer["lora"], where="transfer.lora"))
    patterns = list(transfer.get("freeze") or [])
    if patterns:
        names = [n for n, _ in model.named_parameters()]
        for pattern in patterns:
            hit = [n for n in names if n.startswith(f"{pattern}.") or fnmatch.fnmatchcase(n, pattern)]
            if not hit:
                tops = sorted({n.split(".")[0] for n in names})
                raise ConfigError(
                    f"--freeze {pattern!r} matches no parameter; the model's parts are: {', '.join(tops)}"
                )
            for name, param in model.named_parameters():
                if name in hit:
                    param.requires_grad_(False)
    if not any(p.requires_grad for p in model.parameters()):
        raise ConfigError("--freeze leaves no parameter to train")

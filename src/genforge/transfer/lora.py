"""LoRA for any torch model: low-rank adapters on ``nn.Linear`` and ``nn.Conv2d`` layers.

A wrapped layer computes ``base(x) + scale * B(A(dropout(x)))`` with ``A`` of rank ``r`` (Kaiming
initialised) and ``B`` zero-initialised, so a freshly wrapped model computes exactly what it did before;
``scale = alpha / r``. For a convolution ``A`` is a convolution with the layer's kernel, stride, padding
and dilation into ``r`` channels and ``B`` a 1x1 convolution, so the update is one weight of the layer's
shape (``B @ A``) and merges into it.

- :func:`apply_lora` wraps the layers whose dotted module name matches one of ``targets``
  (``fnmatch`` patterns; ``*`` is every Linear/Conv2d) and freezes every other parameter;
- :func:`merge_lora` / :func:`unmerge_lora` fold the update into the base weight and back;
  :func:`remove_lora` merges and puts the plain layers back (the original architecture, its state-dict
  names unchanged — what export and sampling use);
- :func:`save_adapter` / :func:`load_adapter`: the adapter alone, ``adapter.safetensors`` (the ``A``/``B``
  tensors) + ``adapter.json`` (its :class:`LoraConfig` and the wrapped names).
"""

from __future__ import annotations

import fnmatch
import math
import os
from pathlib import Path
from typing import Any

import torch
from pydantic import Field
from torch import nn

from genforge.core import io
from genforge.core.config import Config
from genforge.core.errors import CheckpointError, ConfigError

ADAPTER_TENSORS = "adapter.safetensors"
ADAPTER_CONFIG = "adapter.json"


class LoraConfig(Config):
    """Low-rank adapters: rank, scaling, dropout on the adapter path, which layers."""

    r: int = Field(8, ge=1, description="rank of the update")
    alpha: float | None = Field(None, gt=0, description="scale = alpha / r (default: alpha = r, scale 1)")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="dropout on the adapter's input")
    targets: list[str] = Field(
        default_factory=lambda: ["*"],
        description="fnmatch patterns of module names to wrap ('*': every Linear/Conv2d)",
    )

    @property
    def scale(self) -> float:
        return (self.alpha if self.alpha is not None else float(self.r)) / self.r


def parse_lora(spec: str | None) -> LoraConfig | None:
    """``"r=8,alpha=16,dropout=0.1,targets=enc*|dec*"`` (the ``--lora`` flag) as a :class:`LoraConfig`."""
    if spec is None:
        return None
    values: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        key, sep, value = part.partition("=")
        if not sep:
            raise ConfigError(f"--lora {spec!r}: write key=value pairs, e.g. r=8,alpha=16,targets=enc*|dec*")
        values[key.strip()] = value.split("|") if key.strip() == "targets" else value.strip()
    return LoraConfig.build(values, where="--lora")


class _LoraLayer(nn.Module):
    """Shared part of the wrappers: the frozen base layer, the adapter and the merged flag."""

    def __init__(self, base: nn.Module, config: LoraConfig) -> None:
        super().__init__()
        self.base = base
        self.r, self.scale = config.r, config.scale
        self.dropout = nn.Dropout(config.dropout) if config.dropout > 0 else nn.Identity()
        self.merged = False
        for p in base.parameters():
            p.requires_grad_(False)

    def delta_weight(self) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.base(x)
        if self.merged:
            return out
        return out + self.lora_B(self.lora_A(self.dropout(x))) * self.scale

    @torch.no_grad()
    def merge(self) -> None:
        if not self.merged:
            self.base.weight += self.delta_weight().to(self.base.weight.dtype)
            self.merged = True

    @torch.no_grad()
    def unmerge(self) -> None:
        if self.merged:
            self.base.weight -= self.delta_weight().to(self.base.weight.dtype)
            self.merged = False


class LoraLinear(_LoraLayer):
    def __init__(self, base: nn.Linear, config: LoraConfig) -> None:
        super().__init__(base, config)
        self.lora_A = nn.Linear(base.in_features, config.r, bias=False)
        self.lora_B = nn.Linear(config.r, base.out_features, bias=False)
        nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
        nn.init.zeros_(self.lora_B.weight)

    def delta_weight(self) -> torch.Tensor:
        return (self.lora_B.weight @ self.lora_A.weight) * self.scale


class LoraConv2d(_LoraLayer):
    def __init__(self, base: nn.Conv2d, config: LoraConfig) -> None:
        super().__init__(base, config)
        self.lora_A = nn.Conv2d(
            base.in_channels,
            config.r,
            base.kernel_size,
            stride=base.stride,
            padding=base.padding,
            dilation=base.dilation,
            padding_mode=base.padding_mode,
            bias=False,
        )
        self.lora_B = nn.Conv2d(config.r, base.out_channels, 1, bias=False)
        nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
        nn.init.zeros_(self.lora_B.weight)

    def delta_weight(self) -> torch.Tensor:
        a = self.lora_A.weight.flatten(1)  # (r, in * kh * kw)
        b = self.lora_B.weight.flatten(1)  # (out, r)
        return (b @ a).view_as(self.base.weight) * self.scale


def _wrappable(module: nn.Module) -> bool:
    if isinstance(module, nn.Conv2d):
        return module.groups == 1  # a grouped/depthwise update has no full-rank weight to merge into
    return isinstance(module, nn.Linear)


def _set_module(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent_name) if parent_name else model, child, module)


def lora_layers(model: nn.Module) -> dict[str, _LoraLayer]:
    return {name: m for name, m in model.named_modules() if isinstance(m, _LoraLayer)}


def apply_lora(model: nn.Module, config: LoraConfig) -> list[str]:
    """Wrap the matching Linear/Conv2d layers of ``model`` in place and freeze all other parameters;
    the wrapped module names. No matching layer is a ConfigError listing a few candidates."""
    if lora_layers(model):
        raise ConfigError("this model already has LoRA adapters: merge them (remove_lora) first")
    candidates = [name for name, m in model.named_modules() if name and _wrappable(m)]
    chosen = [n for n in candidates if any(fnmatch.fnmatchcase(n, pat) for pat in config.targets)]
    if not chosen:
        shown = ", ".join(candidates[:6]) + (", ..." if len(candidates) > 6 else "")
        raise ConfigError(
            f"LoRA targets {config.targets} match no Linear/Conv2d layer of this model"
            + (f"; its layers are: {shown}" if candidates else " (it has none)")
        )
    for p in model.parameters():
        p.requires_grad_(False)
    for name in chosen:
        base = model.get_submodule(name)
        wrapper = (LoraConv2d if isinstance(base, nn.Conv2d) else LoraLinear)(base, config)
        wrapper.to(base.weight.device)
        _set_module(model, name, wrapper)
    return chosen


def merge_lora(model: nn.Module) -> None:
    for layer in lora_layers(model).values():
        layer.merge()


def unmerge_lora(model: nn.Module) -> None:
    for layer in lora_layers(model).values():
        layer.unmerge()


def remove_lora(model: nn.Module) -> nn.Module:
    """Merge every adapter and put the plain layers back: the original architecture and names."""
    for name, layer in lora_layers(model).items():
        layer.merge()
        _set_module(model, name, layer.base)
    for p in model.parameters():
        p.requires_grad_(True)
    return model


def adapter_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """The adapters' tensors (``<layer>.lora_A.weight``, ``<layer>.lora_B.weight``)."""
    return {
        f"{name}.{part}.weight": getattr(layer, part).weight.detach().clone()
        for name, layer in lora_layers(model).items()
        for part in ("lora_A", "lora_B")
    }


def trainable_fraction(model: nn.Module) -> float:
    """Trainable parameters over all parameters (base weights counted once)."""
    total = sum(p.numel() for p in model.parameters())
    return sum(p.numel() for p in model.parameters() if p.requires_grad) / max(total, 1)


def save_adapter(model: nn.Module, config: LoraConfig, directory: str | os.PathLike) -> Path:
    """Write ``adapter.safetensors`` + ``adapter.json`` (config and wrapped layers) into ``directory``."""
    layers = lora_layers(model)
    if not layers:
        raise ConfigError("the model has no LoRA adapters to save")
    if any(layer.merged for layer in layers.values()):
        raise ConfigError("unmerge the adapters before saving them (unmerge_lora)")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    io.save_tensors(directory / ADAPTER_TENSORS, adapter_state_dict(model))
    io.atomic_write_json(
        directory / ADAPTER_CONFIG, {"lora": config.model_dump(mode="json"), "layers": sorted(layers)}
    )
    return directory


def load_adapter(model: nn.Module, directory: str | os.PathLike) -> LoraConfig:
    """Wrap ``model`` as the saved adapter says and load its tensors; its :class:`LoraConfig`."""
    directory = Path(directory)
    if not (directory / ADAPTER_CONFIG).is_file():
        raise CheckpointError(f"{directory} holds no LoRA adapter ({ADAPTER_CONFIG} is missing)")
    meta = io.read_json_object(directory / ADAPTER_CONFIG)
    config = LoraConfig.build(meta.get("lora"), where=str(directory / ADAPTER_CONFIG))
    layers = list(meta.get("layers") or [])
    wrapped = apply_lora(model, config.model_copy(update={"targets": layers}))
    if sorted(wrapped) != sorted(layers):
        raise CheckpointError(f"{directory} adapts layers {layers} that this model does not have as named")
    tensors = io.load_tensors(directory / ADAPTER_TENSORS)
    found = lora_layers(model)
    for key, value in tensors.items():
        name, part, _ = key.rsplit(".", 2)
        target = getattr(found[name], part).weight if name in found else None
        if target is None or target.shape != value.shape:
            raise CheckpointError(f"{directory / ADAPTER_TENSORS}: {key} does not fit this model")
        with torch.no_grad():
            target.copy_(value)
    return config

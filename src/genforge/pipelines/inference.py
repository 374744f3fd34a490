"""One call per image-model operation, for callers that hold a loaded run (the HTTP server's OIP v2 API).

``image_operation(model, op, ...)`` runs ``sample``, ``encode``, ``decode`` or ``log_prob`` (in bits per
dimension) on a model from :func:`genforge.pipelines.loading.load_run` with the checks a request needs:
the operation exists for the family, inputs have the model's shape and value range, labels only for
class-conditional models. ``encode`` and ``decode`` are pure functions of their input, so a server may
run several requests' inputs as one batch and split the result; ``sample`` and ``log_prob`` (VAE IWAE and
RealNVP dequantization draw noise) take their own seed per call and run one call per request, so a
request's output never depends on what it was batched with.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch

from genforge.core.errors import ConfigError
from genforge.core.seed import make_generator
from genforge.metrics.likelihood import bits_per_dim
from genforge.models.base import GenerativeModel
from genforge.render.images import image_bytes

IMAGE_OPERATIONS = ("sample", "encode", "decode", "log_prob")
BATCHABLE_OPERATIONS = ("encode", "decode")  # pure functions of their input
MAX_ITEMS = 256


def image_operations(model: GenerativeModel) -> list[str]:
    """The operations ``model`` offers (``sample`` always; the others where the family has them)."""
    return [op for op in IMAGE_OPERATIONS if op == "sample" or model.has(op)]


def latent_shape(model: GenerativeModel) -> tuple[int, ...] | None:
    """The shape of one latent (what ``decode`` takes), or None for families without a decoder."""
    if not model.has("decode"):
        return None
    dim = getattr(model, "latent_dim", None) or getattr(getattr(model, "config", None), "latent_dim", None)
    return (int(dim),) if dim else (model.info.num_dims,)  # flows: one latent per data dimension


def check_levels(model: GenerativeModel, x: torch.Tensor) -> torch.Tensor:
    """Integer image levels ``(B, C, H, W)`` in ``0..num_levels-1``, as the model's data has them."""
    shape = tuple(model.info.shape)
    if x.dim() != len(shape) + 1 or tuple(x.shape[1:]) != shape:
        raise ConfigError(f"images must have shape [N, {', '.join(map(str, shape))}], got {list(x.shape)}")
    levels = model.info.num_levels or 256
    if x.numel() and (int(x.min()) < 0 or int(x.max()) >= levels):
        raise ConfigError(
            f"image values must be integer levels 0..{levels - 1}, got {int(x.min())}..{int(x.max())}"
        )
    return x.long()


def image_operation(
    model: GenerativeModel,
    op: str,
    x: torch.Tensor | None = None,
    *,
    n: int = 1,
    seed: int = 0,
    temperature: float = 1.0,
    label: int | None = None,
) -> torch.Tensor:
    """Run ``op`` on ``model``. Returns: ``sample``/``decode`` images ``(N, C, H, W)`` in [0, 1];
    ``encode`` latents ``(N, latent_dim)``; ``log_prob`` bits per dimension ``(N,)``."""
    if op not in image_operations(model):
        raise ConfigError(
            f"this model has no '{op}' operation: it offers {', '.join(image_operations(model))}"
        )
    if label is not None and not model.info.num_classes:
        raise ConfigError("a class label was given but this model has no classes")
    with torch.no_grad():
        if op == "sample":
            if not 1 <= n <= MAX_ITEMS:
                raise ConfigError(f"the number of samples must be between 1 and {MAX_ITEMS}, got {n}")
            if not 0 <= temperature <= 10:
                raise ConfigError(f"temperature must be between 0 and 10, got {temperature}")
            opts: dict[str, Any] = {"temperature": temperature}
            if label is not None:
                opts["label"] = label
            return model.sample(n, generator=make_generator(seed), **opts).float()
        if x is None:
            raise ConfigError(f"'{op}' needs an input tensor")
        if op == "decode":
            shape = latent_shape(model)
            if x.dim() != len(shape) + 1 or tuple(x.shape[1:]) != shape:
                raise ConfigError(
                    f"latents must have shape [N, {', '.join(map(str, shape))}], got {list(x.shape)}"
                )
            if not torch.isfinite(x).all():
                raise ConfigError("latents must be finite numbers (found NaN or infinity)")
            return model.decode(x.float()).float()
        levels = check_levels(model, x)
        if op == "encode":
            return model.encode(levels).float()
        kwargs: dict[str, Any] = {}
        if "generator" in inspect.signature(model.log_prob).parameters:
            kwargs["generator"] = make_generator(seed)
        return bits_per_dim(-model.log_prob(levels, **kwargs), model.info.num_dims).float()


def images_to_png(images: torch.Tensor) -> list[bytes]:
    """``(N, C, H, W)`` in [0, 1] -> one PNG file's bytes per image."""
    return [image_bytes(image, "PNG") for image in images]

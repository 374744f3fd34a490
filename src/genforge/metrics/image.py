"""Reconstruction and perceptual metrics for image pairs: PSNR, SSIM, MS-SSIM and an LPIPS-style distance.

All take two aligned batches ``(N, C, H, W)`` (numpy or torch) and an explicit ``data_range`` (the
difference between the largest and smallest possible pixel value: 1.0 for [0, 1] images, 255 for
8-bit), and return per-image values plus their mean. Computed in float64.

* PSNR: ``10 log10(data_range^2 / MSE)`` per image (``inf`` for identical images).
* SSIM (Wang et al. 2004): Gaussian window (``kernel_size`` 11, sigma 1.5), ``K1 = 0.01``, ``K2 = 0.03``,
  population (co)variances. ``padding="valid"`` (default) averages the SSIM map over the positions where
  the window fits, as the authors' MATLAB code and scikit-image do; ``padding="reflect"`` reflect-pads the
  image and averages the full map, as torchmetrics does.
* MS-SSIM (Wang et al. 2003): contrast-structure terms at the first scales and SSIM at the coarsest, 2x2
  average-pool downsampling, weights ``(0.0448, 0.2856, 0.3001, 0.2363, 0.1333)``, negative terms set to 0
  before the power (torchmetrics' ``normalize="relu"``). Needs images large enough for the window at
  the coarsest scale (>= 176 px with 5 scales and an 11 window).

The LPIPS-style distance is in :mod:`.lpips`. Written here because torchmetrics would be a dependency for
a few convolutions. torch is imported by the functions that compute, so the registry can list these
metrics without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
from pydantic import Field, field_validator

from genforge.core.errors import ConfigError, DataError
from genforge.metrics.base import Metric, Options, State, one_shot
from genforge.metrics.registry import register_metric

if TYPE_CHECKING:
    import torch

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
DATA_RANGE_HELP = "difference between the largest and smallest possible pixel value (1.0 for [0, 1] images)"


class PSNROptions(Options):
    """Options of :func:`psnr`."""

    data_range: float = Field(gt=0, description=DATA_RANGE_HELP)


class SSIMOptions(PSNROptions):
    """Options of :func:`ssim`."""

    kernel_size: int = Field(11, description="Gaussian window size (odd)")
    sigma: float = Field(1.5, gt=0, description="Gaussian window standard deviation (pixels)")
    padding: Literal["valid", "reflect"] = Field(
        "valid", description="valid: average where the window fits; reflect: pad and average all"
    )

    @field_validator("kernel_size")
    @classmethod
    def _odd(cls, value: int) -> int:
        if value < 1 or value % 2 == 0:
            raise ValueError("kernel_size must be a positive odd number")
        return value


class MSSSIMOptions(SSIMOptions):
    """Options of :func:`ms_ssim`."""

    weights: tuple[float, ...] = Field(MS_SSIM_WEIGHTS, min_length=1, description="weight of each scale")


def image_pair(a: Any, b: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Two aligned batches as float64 ``(N, C, H, W)`` tensors ((N, H, W) grey batches get a channel)."""
    import torch

    x = a if isinstance(a, torch.Tensor) else torch.as_tensor(a)
    y = b if isinstance(b, torch.Tensor) else torch.as_tensor(b)
    if x.ndim == 3 and y.ndim == 3:  # (N, H, W) grey images
        x, y = x[:, None], y[:, None]
    if x.ndim != 4 or x.shape != y.shape:
        raise DataError(
            f"image pairs must be two (N, C, H, W) batches of one shape, got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    if len(x) == 0:
        raise DataError("no images to compare")
    x, y = x.detach().to(torch.float64), y.detach().to(torch.float64)
    if not (torch.isfinite(x).all() and torch.isfinite(y).all()):
        raise DataError("images contain NaN or infinite values")
    return x, y


def psnr_values(x: Any, y: Any, data_range: float) -> torch.Tensor:
    """Per-image PSNR in dB, ``(N,)``."""
    import torch

    data_range = PSNROptions.parse({"data_range": data_range}, "psnr").data_range
    a, b = image_pair(x, y)
    mse = ((a - b) ** 2).flatten(1).mean(dim=1)
    return 10.0 * torch.log10(data_range**2 / mse)


def gaussian_window(kernel_size: int, sigma: float, channels: int) -> torch.Tensor:
    """Normalised 2-D Gaussian window ``(C, 1, k, k)`` (float64) for a depthwise convolution."""
    import torch

    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ConfigError(f"kernel_size must be a positive odd number, got {kernel_size}")
    if sigma <= 0:
        raise ConfigError(f"sigma must be positive, got {sigma}")
    offsets = torch.arange(kernel_size, dtype=torch.float64) - (kernel_size - 1) / 2
    g = torch.exp(-0.5 * (offsets / sigma) ** 2)
    g = g / g.sum()
    return torch.outer(g, g).expand(channels, 1, kernel_size, kernel_size).contiguous()


def _ssim_maps(
    x: torch.Tensor, y: torch.Tensor, opts: SSIMOptions, k1: float = 0.01, k2: float = 0.03
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """SSIM map and contrast-structure map ``(N, C, H', W')`` and the border width to crop for 'reflect'."""
    import torch
    import torch.nn.functional as F

    c, kernel_size = x.shape[1], opts.kernel_size
    if min(x.shape[-2:]) < kernel_size:
        raise DataError(
            f"images of {x.shape[-2]}x{x.shape[-1]} are smaller than the {kernel_size}x{kernel_size} SSIM window: "
            "pass a smaller kernel_size (odd)"
        )
    window = gaussian_window(kernel_size, opts.sigma, c)
    pad = (kernel_size - 1) // 2
    if opts.padding == "reflect":
        x = F.pad(x, (pad, pad, pad, pad), mode="reflect")
        y = F.pad(y, (pad, pad, pad, pad), mode="reflect")
    stats = F.conv2d(torch.cat([x, y, x * x, y * y, x * y]), window, groups=c).split(len(x))
    mu_x, mu_y = stats[0], stats[1]
    var_x = (stats[2] - mu_x * mu_x).clamp(min=0.0)  # round-off only: a variance is never negative
    var_y = (stats[3] - mu_y * mu_y).clamp(min=0.0)
    cov = stats[4] - mu_x * mu_y
    c1, c2 = (k1 * opts.data_range) ** 2, (k2 * opts.data_range) ** 2
    cs = (2 * cov + c2) / (var_x + var_y + c2)
    ssim_map = (2 * mu_x * mu_y + c1) / (mu_x * mu_x + mu_y * mu_y + c1) * cs
    return ssim_map, cs, pad if opts.padding == "reflect" else 0


def ssim_values(x: Any, y: Any, **options: Any) -> torch.Tensor:
    """Per-image SSIM ``(N,)`` (mean over channels and window positions); ``options``:
    :class:`SSIMOptions` (``data_range`` required, ``kernel_size=11, sigma=1.5, padding="valid"``)."""
    opts = SSIMOptions.parse(options, "ssim")
    a, b = image_pair(x, y)
    ssim_map, _, _ = _ssim_maps(a, b, opts)
    return ssim_map.flatten(1).mean(dim=1)


def ms_ssim_values(x: Any, y: Any, **options: Any) -> torch.Tensor:
    """Per-image MS-SSIM ``(N,)``; ``options``: :class:`MSSSIMOptions` (SSIM's and ``weights``)."""
    import torch
    import torch.nn.functional as F

    opts = MSSSIMOptions.parse(options, "ms-ssim")
    a, b = image_pair(x, y)
    scales = len(opts.weights)
    need = opts.kernel_size * 2 ** (scales - 1)
    if min(a.shape[-2:]) < need:
        raise DataError(
            f"MS-SSIM with {scales} scales and a {opts.kernel_size} window needs images of at least "
            f"{need}x{need} pixels, got {a.shape[-2]}x{a.shape[-1]}: use SSIM, fewer weights or a smaller kernel_size"
        )
    terms = []
    for scale in range(scales):
        ssim_map, cs_map, crop = _ssim_maps(a, b, opts)
        if scale == scales - 1:
            terms.append(ssim_map.flatten(1).mean(dim=1))
        else:
            if crop:  # torchmetrics averages CS over the un-padded positions only
                cs_map = cs_map[..., crop:-crop, crop:-crop]
            terms.append(cs_map.flatten(1).mean(dim=1))
            a, b = F.avg_pool2d(a, 2), F.avg_pool2d(b, 2)
    stacked = torch.stack(terms).clamp(min=0.0)
    powers = torch.tensor(opts.weights, dtype=torch.float64)[:, None]
    return (stacked**powers).prod(dim=0)


# the metric classes and their functional twins ----------------------------------------------------
class PairedImageMetric(Metric):
    """A per-pair image metric: ``update(x, y)`` scores a batch of aligned pairs, ``compute()`` gives the
    mean with the per-pair values and the settings used; the state is the per-pair values (float64).

    Subclasses name their per-pair function ``values`` (``(x, y, **options) -> (N,) tensor``).
    """

    values: ClassVar[Any] = None
    states = {"per_pair": State(merge="cat")}

    def update(self, x: Any, y: Any) -> None:
        self.per_pair.append(type(self).values(x, y, **self.options.model_dump()).numpy())

    def compute(self) -> dict[str, Any]:
        if not self.per_pair:
            raise DataError(f"no image pairs were given to {self.name}")
        values = np.concatenate(self.per_pair)
        return {
            self.name: float(values.mean()),
            "metric": self.name,
            "n": len(values),
            **self.settings(),
            f"{self.name}_per_image": values.tolist(),
        }


def psnr(x: Any, y: Any, **options: Any) -> dict[str, Any]:
    """Mean PSNR (dB) over image pairs, with the per-image values (functional twin of :class:`PSNR`);
    ``options``: :class:`PSNROptions` (``data_range`` required)."""
    return one_shot(PSNR(**options), x, y)


def ssim(x: Any, y: Any, **options: Any) -> dict[str, Any]:
    """Mean SSIM over image pairs with per-image values and settings; ``options``: :class:`SSIMOptions`."""
    return one_shot(SSIM(**options), x, y)


def ms_ssim(x: Any, y: Any, **options: Any) -> dict[str, Any]:
    """Mean MS-SSIM over image pairs with per-image values; ``options``: :class:`MSSSIMOptions`."""
    return one_shot(MSSSIM(**options), x, y)


@register_metric(
    "psnr", kind="pairwise", function=psnr, summary="peak signal-to-noise ratio of image pairs (dB)"
)
class PSNR(PairedImageMetric):
    """Streaming PSNR (dB): ``PSNR(data_range=1.0)``."""

    name = "psnr"
    options_class = PSNROptions

    @staticmethod
    def values(x: Any, y: Any, *, data_range: float) -> torch.Tensor:
        return psnr_values(x, y, data_range)


@register_metric(
    "ssim", kind="pairwise", function=ssim, summary="structural similarity of image pairs (Gaussian window)"
)
class SSIM(PairedImageMetric):
    """Streaming SSIM: ``SSIM(data_range=1.0, kernel_size=11, sigma=1.5, padding="valid")``."""

    name = "ssim"
    options_class = SSIMOptions
    values = staticmethod(ssim_values)


@register_metric(
    "ms-ssim",
    kind="pairwise",
    function=ms_ssim,
    summary="multi-scale SSIM of image pairs (5 scales; >= 176 px)",
)
class MSSSIM(PairedImageMetric):
    """Streaming MS-SSIM: ``MSSSIM(data_range=1.0, ...)``, options of :class:`MSSSIMOptions`."""

    name = "ms_ssim"
    options_class = MSSSIMOptions
    values = staticmethod(ms_ssim_values)

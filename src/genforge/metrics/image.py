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
* LPIPS-style distance (after Zhang et al. 2018): channel-normalised activations of the ``digits``
  extractor's three conv layers, squared differences averaged over space and summed over channels,
  then averaged over layers. There are no learned per-channel weights (LPIPS's "lin" layers need human
  judgements to train), so this is the unweighted variant; it is defined for 1 x 8 x 8 images.

Written here because torchmetrics would be a dependency for a few convolutions and the reference LPIPS
needs network weights downloaded at run time.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import torch
import torch.nn.functional as F

from genforge.core.errors import ConfigError, DataError
from genforge.metrics.base import Metric, bind_options

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _pair(a: Any, b: Any) -> tuple[torch.Tensor, torch.Tensor]:
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


def _check_range(data_range: float) -> float:
    if data_range is None or not data_range > 0:
        raise ConfigError(
            f"data_range must be a positive number (1.0 for [0, 1] images, 255 for 8-bit), got {data_range}"
        )
    return float(data_range)


def psnr_values(x: Any, y: Any, data_range: float) -> torch.Tensor:
    """Per-image PSNR in dB, ``(N,)``."""
    a, b = _pair(x, y)
    mse = ((a - b) ** 2).flatten(1).mean(dim=1)
    return 10.0 * torch.log10(_check_range(data_range) ** 2 / mse)


def gaussian_window(kernel_size: int, sigma: float, channels: int) -> torch.Tensor:
    """Normalised 2-D Gaussian window ``(C, 1, k, k)`` (float64) for a depthwise convolution."""
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ConfigError(f"kernel_size must be a positive odd number, got {kernel_size}")
    if sigma <= 0:
        raise ConfigError(f"sigma must be positive, got {sigma}")
    offsets = torch.arange(kernel_size, dtype=torch.float64) - (kernel_size - 1) / 2
    g = torch.exp(-0.5 * (offsets / sigma) ** 2)
    g = g / g.sum()
    return torch.outer(g, g).expand(channels, 1, kernel_size, kernel_size).contiguous()


def _ssim_maps(
    x: torch.Tensor,
    y: torch.Tensor,
    data_range: float,
    kernel_size: int,
    sigma: float,
    padding: str,
    k1: float = 0.01,
    k2: float = 0.03,
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """SSIM map and contrast-structure map ``(N, C, H', W')`` and the border width to crop for 'reflect'."""
    if padding not in ("valid", "reflect"):
        raise ConfigError(f"padding must be valid or reflect, got {padding!r}")
    c = x.shape[1]
    if min(x.shape[-2:]) < kernel_size:
        raise DataError(
            f"images of {x.shape[-2]}x{x.shape[-1]} are smaller than the {kernel_size}x{kernel_size} SSIM window: "
            "pass a smaller kernel_size (odd)"
        )
    window = gaussian_window(kernel_size, sigma, c)
    pad = (kernel_size - 1) // 2
    if padding == "reflect":
        x = F.pad(x, (pad, pad, pad, pad), mode="reflect")
        y = F.pad(y, (pad, pad, pad, pad), mode="reflect")
    stats = F.conv2d(torch.cat([x, y, x * x, y * y, x * y]), window, groups=c).split(len(x))
    mu_x, mu_y = stats[0], stats[1]
    var_x = (stats[2] - mu_x * mu_x).clamp(min=0.0)  # round-off only: a variance is never negative
    var_y = (stats[3] - mu_y * mu_y).clamp(min=0.0)
    cov = stats[4] - mu_x * mu_y
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    cs = (2 * cov + c2) / (var_x + var_y + c2)
    ssim_map = (2 * mu_x * mu_y + c1) / (mu_x * mu_x + mu_y * mu_y + c1) * cs
    return ssim_map, cs, pad if padding == "reflect" else 0


def ssim_values(
    x: Any, y: Any, *, data_range: float, kernel_size: int = 11, sigma: float = 1.5, padding: str = "valid"
) -> torch.Tensor:
    """Per-image SSIM ``(N,)`` (mean over channels and window positions)."""
    a, b = _pair(x, y)
    ssim_map, _, _ = _ssim_maps(a, b, _check_range(data_range), kernel_size, sigma, padding)
    return ssim_map.flatten(1).mean(dim=1)


def ms_ssim_values(
    x: Any,
    y: Any,
    *,
    data_range: float,
    kernel_size: int = 11,
    sigma: float = 1.5,
    weights: tuple[float, ...] = MS_SSIM_WEIGHTS,
    padding: str = "valid",
) -> torch.Tensor:
    """Per-image MS-SSIM ``(N,)``."""
    a, b = _pair(x, y)
    data_range = _check_range(data_range)
    scales = len(weights)
    need = kernel_size * 2 ** (scales - 1)
    if min(a.shape[-2:]) < need:
        raise DataError(
            f"MS-SSIM with {scales} scales and a {kernel_size} window needs images of at least {need}x{need} "
            f"pixels, got {a.shape[-2]}x{a.shape[-1]}: use SSIM, fewer weights or a smaller kernel_size"
        )
    terms = []
    for scale in range(scales):
        ssim_map, cs_map, crop = _ssim_maps(a, b, data_range, kernel_size, sigma, padding)
        if scale == scales - 1:
            terms.append(ssim_map.flatten(1).mean(dim=1))
        else:
            if crop:  # torchmetrics averages CS over the un-padded positions only
                cs_map = cs_map[..., crop:-crop, crop:-crop]
            terms.append(cs_map.flatten(1).mean(dim=1))
            a, b = F.avg_pool2d(a, 2), F.avg_pool2d(b, 2)
    stacked = torch.stack(terms).clamp(min=0.0)
    powers = torch.tensor(weights, dtype=torch.float64)[:, None]
    return (stacked**powers).prod(dim=0)


def lpips_values(x: Any, y: Any, *, extractor: Any = None, batch_size: int = 256) -> torch.Tensor:
    """Per-pair LPIPS-style distance ``(N,)`` over the digits extractor's conv activations (images in [0, 1])."""
    from genforge.metrics.extractors import load_extractor

    a, b = _pair(x, y)
    if a.min() < 0 or a.max() > 1 or b.min() < 0 or b.max() > 1:
        raise DataError("the LPIPS-style distance takes images in [0, 1]")
    net = extractor or load_extractor("digits")
    out = []
    with torch.inference_mode():
        for start in range(0, len(a), batch_size):
            maps_a = net.feature_maps(a[start : start + batch_size].float())
            maps_b = net.feature_maps(b[start : start + batch_size].float())
            per_layer = []
            for fa, fb in zip(maps_a, maps_b, strict=True):
                na = fa / (fa.norm(dim=1, keepdim=True) + 1e-10)
                nb = fb / (fb.norm(dim=1, keepdim=True) + 1e-10)
                per_layer.append(((na - nb) ** 2).sum(dim=1).mean(dim=(1, 2)))
            out.append(torch.stack(per_layer).mean(dim=0).double())
    return torch.cat(out)


# the metric classes and their functional twins ----------------------------------------------------
class PairedImageMetric(Metric):
    """A per-pair image metric: ``update(x, y)`` scores a batch of aligned pairs, ``compute()`` gives the
    mean with the per-pair values and the settings used; the state is the per-pair values (float64).

    Subclasses name their per-pair function ``values``; keyword options are that function's and are
    checked when the metric is built.
    """

    values: Any = None  # the per-pair function, ``(x, y, **options) -> (N,) tensor``

    def __init__(self, **options: Any) -> None:
        self.options = bind_options(self.values, self.name, ("x", "y"), **options)
        if "data_range" in self.options:
            _check_range(self.options["data_range"])
        self.reset()

    def settings(self) -> dict[str, Any]:
        return dict(self.options)

    def reset(self) -> None:
        self.per_pair: list[np.ndarray] = []

    def update(self, x: Any, y: Any) -> None:
        self.per_pair.append(self.values(x, y, **self.options).numpy())

    def _describe(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.settings().items()}

    def compute(self) -> dict[str, Any]:
        if not self.per_pair:
            raise DataError(f"no image pairs were given to {self.name}")
        values = np.concatenate(self.per_pair)
        return {
            self.name: float(values.mean()),
            "metric": self.name,
            "n": len(values),
            **self._describe(),
            f"{self.name}_per_image": values.tolist(),
        }

    def _merge_state(self, other: PairedImageMetric) -> None:
        self.per_pair.extend(other.per_pair)

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"per_pair": np.concatenate(self.per_pair) if self.per_pair else np.zeros(0)}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> Self:
        self.per_pair = [np.asarray(state["per_pair"], dtype=np.float64)] if len(state["per_pair"]) else []
        return self


class PSNR(PairedImageMetric):
    """Streaming PSNR (dB): ``PSNR(data_range=1.0)``, options of :func:`psnr_values`."""

    name = "psnr"
    values = staticmethod(psnr_values)


class SSIM(PairedImageMetric):
    """Streaming SSIM: ``SSIM(data_range=1.0, kernel_size=11, sigma=1.5, padding="valid")``."""

    name = "ssim"
    values = staticmethod(ssim_values)


class MSSSIM(PairedImageMetric):
    """Streaming MS-SSIM: ``MSSSIM(data_range=1.0, ...)``, options of :func:`ms_ssim_values`."""

    name = "ms_ssim"
    values = staticmethod(ms_ssim_values)


class LPIPSDistance(PairedImageMetric):
    """Streaming LPIPS-style distance over the digits extractor (loaded once, its hash in the result)."""

    name = "lpips_digits"
    values = staticmethod(lpips_values)

    def __init__(self, *, batch_size: int = 256) -> None:
        from genforge.metrics.extractors import load_extractor

        super().__init__(extractor=load_extractor("digits"), batch_size=batch_size)

    def settings(self) -> dict[str, Any]:
        net = self.options["extractor"]
        return {"extractor": net.name, "extractor_sha256": net.sha256}

    def compute(self) -> dict[str, Any]:
        return {**super().compute(), "metric": "lpips_style_distance"}


def _one_shot(metric: PairedImageMetric, x: Any, y: Any) -> dict[str, Any]:
    metric.update(x, y)
    return metric.compute()


def psnr(x: Any, y: Any, *, data_range: float) -> dict[str, Any]:
    """Mean PSNR (dB) over image pairs, with the per-image values (functional twin of :class:`PSNR`)."""
    return _one_shot(PSNR(data_range=data_range), x, y)


def ssim(x: Any, y: Any, *, data_range: float, **options: Any) -> dict[str, Any]:
    """Mean SSIM over image pairs with per-image values and settings; ``options`` as :func:`ssim_values`."""
    return _one_shot(SSIM(data_range=data_range, **options), x, y)


def ms_ssim(x: Any, y: Any, *, data_range: float, **options: Any) -> dict[str, Any]:
    """Mean MS-SSIM over image pairs with per-image values; ``options`` as :func:`ms_ssim_values`."""
    return _one_shot(MSSSIM(data_range=data_range, **options), x, y)


def lpips_distance(x: Any, y: Any, *, batch_size: int = 256) -> dict[str, Any]:
    """Mean LPIPS-style distance (0 = identical) with per-pair values, labelled with the extractor hash."""
    return _one_shot(LPIPSDistance(batch_size=batch_size), x, y)

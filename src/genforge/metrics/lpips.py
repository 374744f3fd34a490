"""An LPIPS-style perceptual distance between image pairs (after Zhang et al. 2018).

Channel-normalised activations of the ``digits`` extractor's three conv layers, squared differences
summed over channels and averaged over space, then averaged over layers. There are no learned
per-channel weights (LPIPS's "lin" layers need human similarity judgements to train, which genforge
does not have), so this is the unweighted variant, defined for 1 x 8 x 8 images in [0, 1]; its numbers
are not comparable with LPIPS values. Written here because the reference LPIPS needs network weights
downloaded at run time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from genforge.core.errors import DataError
from genforge.metrics.base import Options, one_shot
from genforge.metrics.image import PairedImageMetric, image_pair
from genforge.metrics.registry import register_metric

if TYPE_CHECKING:
    import torch


class LPIPSOptions(Options):
    """Options of :func:`lpips_distance`."""

    speed_only: ClassVar[tuple[str, ...]] = ("batch_size",)

    batch_size: int = Field(256, ge=1, description="image pairs per extractor batch (speed only)")


def lpips_values(x: Any, y: Any, *, extractor: Any = None, **options: Any) -> torch.Tensor:
    """Per-pair LPIPS-style distance ``(N,)`` over the digits extractor's conv activations (images in
    [0, 1]); ``extractor`` defaults to a freshly loaded ``digits``; ``options``: :class:`LPIPSOptions`."""
    import torch

    from genforge.metrics.extractors import load_extractor

    batch_size = LPIPSOptions.parse(options, "lpips").batch_size
    a, b = image_pair(x, y)
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


def lpips_distance(x: Any, y: Any, **options: Any) -> dict[str, Any]:
    """Mean LPIPS-style distance (0 = identical) with per-pair values, labelled with the extractor hash."""
    return one_shot(LPIPSDistance(**options), x, y)


@register_metric(
    "lpips",
    kind="pairwise",
    function=lpips_distance,
    summary="LPIPS-style distance (unweighted) over the digits CNN's feature maps (1x8x8 images)",
)
class LPIPSDistance(PairedImageMetric):
    """Streaming LPIPS-style distance over the digits extractor (loaded once, its hash in the result)."""

    name = "lpips_digits"
    options_class = LPIPSOptions

    def __init__(self, **options: Any) -> None:
        from genforge.metrics.extractors import load_extractor

        super().__init__(**options)
        self.extractor = load_extractor("digits")

    def update(self, x: Any, y: Any) -> None:
        values = lpips_values(x, y, extractor=self.extractor, **self.options.model_dump())
        self.per_pair.append(values.numpy())

    def settings(self) -> dict[str, Any]:
        return {"extractor": self.extractor.name, "extractor_sha256": self.extractor.sha256}

    def compute(self) -> dict[str, Any]:
        return {**super().compute(), "metric": "lpips_style_distance"}

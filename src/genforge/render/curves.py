"""Training curves as a picture: one metric against the step, train and validation, one colour per run
(matplotlib's Agg backend, imported only when a curve is drawn)."""

from __future__ import annotations

import io as _io
from collections.abc import Mapping, Sequence
from pathlib import Path

from genforge.render.images import image_format, save_picture

# split -> line style, so train and validation of one run share a colour and differ in dash
SPLIT_STYLES = {"train": "-", "val": "--"}

Series = Mapping[str, tuple[Sequence[float], Sequence[float]]]  # split -> (steps, values)


def save_curves(curves: Mapping[str, Series], metric: str, path: str | Path, title: str = "") -> Path:
    """Plot ``curves`` (run label -> split -> (steps, values)) of ``metric`` and write the picture to
    ``path`` (PNG, JPEG or WebP by extension)."""
    image_format(path)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, (label, series) in enumerate(curves.items()):
        colour = colours[index % len(colours)]
        for split, (steps, values) in sorted(series.items()):
            ax.plot(
                steps,
                values,
                SPLIT_STYLES.get(split, ":"),
                color=colour,
                marker="o" if len(steps) < 20 else None,
                markersize=3,
                label=f"{label} ({split})" if len(curves) > 1 else split,
            )
    ax.set_xlabel("step")
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    buffer = _io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return save_picture(buffer.getvalue(), path)

"""Attention heat maps: which source positions each output token attended to, as a PNG (matplotlib Agg)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import torch

from genforge.render.images import save_picture


def _label(token: str) -> str:
    special = {" ": "␣", "\n": "⏎", "\t": "⇥"}
    if token in special:
        return special[token]
    return token if token.isprintable() else token.encode("unicode_escape").decode("ascii")


def save_attention_heatmap(
    weights: torch.Tensor,
    source_tokens: Sequence[str],
    output_tokens: Sequence[str],
    path: str | Path,
    title: str = "",
) -> Path:
    """``weights`` (len(output_tokens), len(source_tokens)), rows summing to 1 -> heat map at ``path``
    (PNG, JPEG or WebP by extension)
    (outputs down the side, source along the top; spaces drawn as ␣)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, cols = weights.shape
    fig, ax = plt.subplots(figsize=(max(4.0, 0.32 * cols + 1.5), max(3.0, 0.32 * rows + 1.2)))
    image = ax.imshow(weights.detach().float().cpu().numpy(), cmap="viridis", aspect="auto", vmin=0.0)
    ax.set_xticks(range(cols), [_label(t) for t in source_tokens], fontsize=8)
    ax.set_yticks(range(rows), [_label(t) for t in output_tokens], fontsize=8)
    ax.xaxis.tick_top()
    ax.xaxis.set_label_position("top")
    ax.set_xlabel("source")
    ax.set_ylabel("output")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="attention weight")
    if title:
        ax.set_title(title, fontsize=8, y=-0.04, va="top")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return save_picture(buffer.getvalue(), path)

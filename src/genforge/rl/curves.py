"""``curves.png`` of an RL-tune run: reward, KL and entropy per update (and the KL coefficient when it
adapts), drawn from the records of ``metrics.jsonl`` with matplotlib's Agg backend."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from genforge.render.images import save_picture

CURVES_FILE = "curves.png"


def _series(records: Sequence[dict[str, Any]], key: str) -> tuple[list[int], list[float]]:
    rows = [(int(r["step"]), float(r[key])) for r in records if key in r and r.get("split") == "train"]
    return [s for s, _ in rows], [v for _, v in rows]


def tune_curves_png(
    records: Sequence[dict[str, Any]], title: str = "", kl_target: float | None = None
) -> bytes:
    """Stacked panels sharing the update axis: reward (mean, with the min..max band of the update's
    samples), mean sequence KL (with ``kl_target`` dashed when set), mean token entropy, and the KL
    coefficient when it changed during the run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    _, coefs = _series(records, "kl_coef")
    panels = ["reward", "kl", "entropy"] + (["kl_coef"] if len(set(coefs)) > 1 else [])
    labels = {
        "reward": "reward",
        "kl": "KL (nats/sequence)",
        "entropy": "entropy (nats/token)",
        "kl_coef": "KL coefficient",
    }
    fig, axes = plt.subplots(len(panels), 1, figsize=(7, 2.0 * len(panels) + 0.6), sharex=True)
    for ax, key in zip(axes, panels, strict=True):
        steps, values = _series(records, key)
        ax.plot(
            steps, values, color="C0", linewidth=1.0, marker="o" if len(steps) < 20 else None, markersize=3
        )
        if key == "reward":
            _, low = _series(records, "reward_min")
            _, high = _series(records, "reward_max")
            if len(low) == len(high) == len(steps):
                ax.fill_between(steps, low, high, color="C0", alpha=0.15, linewidth=0, label="min..max")
                ax.legend(fontsize=7, loc="lower right")
        if key == "kl" and kl_target is not None:
            ax.axhline(kl_target, color="C3", linestyle="--", linewidth=1.0, label=f"target {kl_target:g}")
            ax.legend(fontsize=7, loc="lower right")
        ax.set_ylabel(labels[key], fontsize=8)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("update")
    axes[-1].xaxis.set_major_locator(MaxNLocator(integer=True))
    if title:
        axes[0].set_title(title, fontsize=9)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def save_tune_curves(
    records: Sequence[dict[str, Any]], path: str | Path, title: str = "", kl_target: float | None = None
) -> Path | None:
    """Write :func:`tune_curves_png` to ``path``; nothing (None) when no update was logged yet."""
    if not any(r.get("split") == "train" and "reward" in r for r in records):
        return None
    return save_picture(tune_curves_png(records, title, kl_target), path)

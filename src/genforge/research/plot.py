"""Pictures of a comparison: the posterior of the mean difference (A better to the right) with the
region of practical equivalence shaded (matplotlib's Agg backend, imported only when drawn)."""

from __future__ import annotations

import io as _io
from pathlib import Path

import numpy as np
from scipy import stats

from genforge.render.images import save_picture
from genforge.research.bayes import Posterior


def posterior_png(posterior: Posterior, metric: str) -> bytes:
    """PNG bytes of ``posterior``'s density of the mean improvement of A over B in ``metric``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    if posterior.method == "signed-rank":  # no density of the mean: the share of draws each region wins
        labels = ["B better", "practically equal", "A better"]
        shares = [posterior.p_b_better, posterior.p_equivalent, posterior.p_a_better]
        ax.bar(labels, shares, color=["#c44e52", "#999999", "#4c72b0"])
        ax.set_ylim(0, 1)
        ax.set_ylabel("posterior probability")
    elif posterior.draws is not None:
        ax.hist(posterior.draws, bins=80, density=True, color="#4c72b0", alpha=0.8)
    elif posterior.scale > 0:
        dist = stats.t(posterior.df, loc=posterior.loc, scale=posterior.scale)
        lo, hi = dist.ppf(0.001), dist.ppf(0.999)
        grid = np.linspace(min(lo, -posterior.rope), max(hi, posterior.rope), 400)
        ax.plot(grid, dist.pdf(grid), color="#4c72b0")
        ax.fill_between(grid, dist.pdf(grid), alpha=0.25, color="#4c72b0")
    else:
        ax.axvline(posterior.loc, color="#4c72b0")
    if posterior.rope > 0 and posterior.method != "signed-rank":
        ax.axvspan(-posterior.rope, posterior.rope, color="#999999", alpha=0.25, label="ROPE")
        ax.legend(fontsize=8)
    if posterior.method != "signed-rank":
        ax.axvline(0.0, color="#333333", linewidth=0.8)
        ax.set_xlabel(f"improvement of A over B in {metric} (A better →)")
        ax.set_ylabel("posterior density")
    ax.set_title(
        f"P(A better) {posterior.p_a_better:.3f} · P(equal) {posterior.p_equivalent:.3f} · "
        f"P(B better) {posterior.p_b_better:.3f}",
        fontsize=9,
    )
    ax.grid(alpha=0.3)
    fig.tight_layout()
    buffer = _io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def save_posterior(posterior: Posterior, metric: str, path: str | Path) -> Path:
    """Write :func:`posterior_png` to ``path`` (PNG, JPEG or WebP by extension)."""
    return save_picture(posterior_png(posterior, metric), path)

"""A self-contained HTML page per run: sample grid, training curves, metric table and model card.

Everything is inlined (CSS in a ``<style>`` block, pictures as base64 PNG data URIs), so the file opens
offline, can be mailed or attached to a ticket, and loads nothing from the network. The metric table
reads ``eval.json``: likelihood figures as they are, and for every sample-based metric its value with
N (real and generated), the extractor and the extractor's SHA-256.
"""

from __future__ import annotations

import base64
import html
import io as _io
import math
import os
import time
from pathlib import Path
from typing import Any

from genforge.core.errors import CheckpointError
from genforge.core.io import atomic_write_text
from genforge.core.paths import check_output_file
from genforge.core.runs import Run, resolve_run
from genforge.metrics.run_metrics import headline
from genforge.pipelines.runs import next_step

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:60rem;color:#222;
line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}td,th{border:1px solid #ddd;padding:.25rem .6rem;
text-align:left}th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
.muted{color:#777;font-size:.85rem}img{image-rendering:pixelated;max-width:100%;border:1px solid #eee}
pre{background:#f7f7f7;padding:.8rem;overflow-x:auto;font-size:.85rem}code{font-size:.85rem}
"""

# Keys of a sample-metric result that are context, not the metric's value.
_CONTEXT_KEYS = {
    "metric",
    "extractor",
    "extractor_sha256",
    "n_real",
    "n_fake",
    "n",
    "feature_dim",
    "warnings",
    "kernel",
    "subsets",
    "subset_size",
    "seed",
    "splits",
    "shuffle_seed",
    "num_classes",
    "k_precision_recall",
    "k_density_coverage",
    "bandwidth",
    "bandwidth_rule",
    "n_train",
}


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return f"{value:.4f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.3e}"
    return html.escape(str(value))


def _png_data_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _samples_section(run: Run, config: dict[str, Any]) -> str:
    pngs = sorted(run.samples_dir.glob("*.png")) if run.samples_dir.is_dir() else []
    if not pngs:
        hint = html.escape(next_step(run, config))
        return (
            f"<p class='muted'>No sample grid in this run: see what it learned with <code>{hint}</code>.</p>"
        )
    latest = pngs[-1]
    return (
        f"<img alt='samples' src='{_png_data_uri(latest.read_bytes())}' style='width:24rem'>"
        f"<p class='muted'>{html.escape(latest.name)} (latest of {len(pngs)} sample grids)</p>"
    )


def _curves_png(records: list[dict[str, Any]]) -> bytes | None:
    """Loss (and other logged scalar) curves against step, train and val, as PNG bytes."""
    series: dict[str, dict[str, tuple[list[float], list[float]]]] = {}
    for rec in records:
        step, split = rec.get("step"), rec.get("split", "train")
        if not isinstance(step, int | float):
            continue
        for key, value in rec.items():
            if key in ("step", "split", "samples_per_s", "lr", "elapsed_s", "time") or not isinstance(
                value, int | float
            ):
                continue
            if isinstance(value, bool) or not math.isfinite(value):
                continue
            xs, ys = series.setdefault(key, {}).setdefault(split, ([], []))
            xs.append(step)
            ys.append(value)
    if not series:
        return None
    keys = sorted(series, key=lambda k: (k != "loss", k))[:6]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(3, len(keys))
    rows = math.ceil(len(keys) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    for ax in axes.flat[len(keys) :]:
        ax.axis("off")
    for ax, key in zip(axes.flat, keys, strict=False):
        for split, (xs, ys) in sorted(series[key].items()):
            ax.plot(xs, ys, label=split, marker="o" if len(xs) < 20 else None, markersize=3)
        ax.set_title(key, fontsize=10)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=8)
        ax.legend(fontsize=7)
    fig.tight_layout()
    buffer = _io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return buffer.getvalue()


def _curves_section(run: Run) -> str:
    png = _curves_png(run.read_metrics())
    if png is None:
        return "<p class='muted'>No training metrics logged yet.</p>"
    return f"<img alt='training curves' src='{_png_data_uri(png)}'>"


def _metric_rows(evaluation: dict[str, Any]) -> tuple[list[list[str]], list[list[str]]]:
    """(likelihood rows [name, value], sample-metric rows [name, value, N real, N generated, extractor, sha])."""
    plain = []
    for key, value in evaluation.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            plain.append([key, _fmt(value)])
        elif key == "baseline" and isinstance(value, dict) and "bits_per_dim" in value:
            plain.append(
                [f"baseline bits_per_dim ({value.get('name', 'baseline')})", _fmt(value["bits_per_dim"])]
            )
    sample_rows = []
    for name, result in (evaluation.get("metrics") or {}).items():
        if name == "samples" or not isinstance(result, dict):
            continue
        if "skipped" in result:
            sample_rows.append([name, html.escape(result["skipped"]), "", "", "", ""])
            continue
        n_real = result.get("n_real", "")
        n_fake = result.get("n_fake", result.get("n", ""))
        sha = result.get("extractor_sha256") or ""
        extractor = _fmt(result.get("extractor", ""))
        sha_cell = f"<code title='{html.escape(sha)}'>{html.escape(sha[:12])}</code>"
        for key, value in result.items():
            if key in _CONTEXT_KEYS or not isinstance(value, int | float) or isinstance(value, bool):
                continue
            label, against = key, _fmt(n_fake)
            if key.endswith("_train_vs_test"):  # reference: the real training split in place of samples
                label, against = f"{key} (reference)", f"{result.get('n_train', '?')} real (train)"
            elif key.endswith("_test_split"):  # reference: the score of the real test split itself
                label, against = f"{key} (reference)", ""
            sample_rows.append([label, _fmt(value), _fmt(n_real), against, extractor, sha_cell])
    return plain, sample_rows


def _table(columns: list[str] | None, rows: list[list[str]]) -> str:
    head = "<tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in columns) + "</tr>" if columns else ""
    body = "".join(
        "<tr>"
        + "".join(f"<td class='num'>{cell}</td>" if i else f"<td>{cell}</td>" for i, cell in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table>{head}{body}</table>"


def _metrics_section(run: Run, config: dict[str, Any]) -> str:
    evaluation = run.read_eval()
    if evaluation is None:
        metrics = " --metrics fd,kid,is,prdc" if config["data_info"]["kind"] in ("image", "points") else ""
        command = html.escape(f"genforge eval {run.path}{metrics}")
        return f"<p class='muted'>Not evaluated yet: run <code>{command}</code>.</p>"
    plain, sample_rows = _metric_rows(evaluation)
    parts = [_headline_line(evaluation)]
    if plain:
        parts.append(_table(["quantity", "value"], plain))
    if sample_rows:
        samples = (evaluation.get("metrics") or {}).get("samples", {})
        note = (
            f"<p class='muted'>Generated: {samples.get('n', '?')} samples (seed {samples.get('seed', '?')}); "
            f"real: the {samples.get('real_split', 'test')} split.</p>"
        )
        parts.append("<h3>Sample-based metrics</h3>" + note)
        parts.append(
            _table(
                ["metric", "value", "N real", "N generated", "extractor", "extractor SHA-256"], sample_rows
            )
        )
    return "".join(parts) or "<p class='muted'>eval.json holds no figures.</p>"


def _headline_line(evaluation: dict[str, Any]) -> str:
    """The figure the run is judged by, and what to read it against (see ``run_metrics.headline``)."""
    head = headline(evaluation)
    if head["value"] is None:
        return ""
    against = (
        ""
        if head["reference"] is None
        else f" against {html.escape(head['reference_name'])} {_fmt(head['reference'])}"
    )
    return f"<p><strong>{html.escape(head['metric'])} {_fmt(head['value'])}</strong>{against}</p>"


def render_report(run: Run) -> str:
    """The report of ``run`` as one HTML string."""
    from genforge import __version__

    config = run.read_config()
    steps = run.checkpoint_steps()
    card = run.model_card_path.read_text(encoding="utf-8") if run.model_card_path.exists() else ""
    facts = [
        ["run", html.escape(run.id)],
        ["family", html.escape(str(config.get("family")))],
        ["data", html.escape(str((config.get("data") or {}).get("spec")))],
        ["parameters", _fmt(config.get("parameters"))],
        ["seed", _fmt(config.get("seed"))],
        ["last checkpoint step", _fmt(steps[-1] if steps else 0)],
    ]
    title = f"{config.get('family')} on {(config.get('data') or {}).get('spec')}"
    return "\n".join(
        [
            "<!DOCTYPE html>",
            "<html lang='en'><head><meta charset='utf-8'>",
            f"<title>genforge report: {html.escape(run.id)}</title><style>{CSS}</style></head><body>",
            f"<h1>{html.escape(title)}</h1><p class='muted'>genforge {__version__} report, "
            f"{time.strftime('%Y-%m-%d %H:%M:%S')}</p>",
            _table(None, facts),
            "<h2>Samples</h2>",
            _samples_section(run, config),
            "<h2>Training curves</h2>",
            _curves_section(run),
            "<h2>Metrics</h2>",
            _metrics_section(run, config),
            "<h2>Model card</h2>",
            f"<pre>{html.escape(card)}</pre>" if card else "<p class='muted'>No model card.</p>",
            "</body></html>",
        ]
    )


def write_report(
    run: str | os.PathLike | Run, out: str | os.PathLike | None = None, *, root: str | os.PathLike = "runs"
) -> Path:
    """Write the self-contained HTML report of ``run`` (a path, an id or id prefix under ``root``) to ``out``
    (default ``RUN/report.html``); ``out`` is checked before anything is read or rendered."""
    checked = None if out is None else check_output_file(out)
    handle = run if isinstance(run, Run) else resolve_run(run, root)
    if not handle.config_path.exists():
        raise CheckpointError(f"{handle.path} has no config.json: not a genforge run directory")
    return atomic_write_text(checked or handle.artifact("report.html"), render_report(handle))

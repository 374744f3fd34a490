"""``genforge tabular report RUN``: quality, privacy and fairness of a synthesizer, beside the holdout.

The run's table is split as in training; the synthesizer's ``n`` rows (default 5,000) are compared with
the training rows, and so is the *holdout*: ``n`` real rows from the first half of the test split, which
the synthesizer never saw. The holdout is the yardstick: a synthesizer cannot be expected to be closer
to the training rows than fresh real data (quality), and should not be closer either (privacy: DCR,
exact copies). ML efficacy trains on each candidate and tests on the second half of the test split. The
result is ``report.json`` in the run and, with ``out``, an HTML page; its ``privacy_verdict`` applies the
preset's thresholds.
"""

from __future__ import annotations

import html
import time
from pathlib import Path
from typing import Any

import numpy as np

from genforge.core.io import atomic_write_json, atomic_write_text, read_json_object
from genforge.core.paths import check_output_file
from genforge.core.runs import Run
from genforge.data.synth import SynthOptions, prepared_table
from genforge.pipelines.card import PRIVACY_FILE, write_model_card
from genforge.tabular import quality
from genforge.tabular.engine import load_synthesizer

REPORT_FILE = "report.json"
DEFAULT_ROWS = 5000


def _halves(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(0).permutation(rows)
    return order[: len(order) // 2], order[len(order) // 2 :]


def tabular_report(
    run: str | Path | Run, *, n: int | None = None, out: str | Path | None = None, seed: int = 0
) -> dict[str, Any]:
    """Quality (column shapes, pair trends, ML efficacy), privacy (DCR, exact copies, NNDR, distance
    attack), fairness and epsilon of the run's synthesizer; ``report.json`` in the run, HTML at ``out``."""
    target = check_output_file(out, suffixes=(".html",)) if out is not None else None
    synth = load_synthesizer(run)
    config = synth.run.read_config()
    options = SynthOptions(**{**config["data"].get("options", {}), "log": []})
    table = prepared_table(synth.record["table"], options)
    table.sensitive = [c for c in synth.record.get("sensitive", table.sensitive) if c in synth.columns]
    holdout_rows, eval_rows = _halves(table.splits["test"])
    rows = min(n or DEFAULT_ROWS, len(holdout_rows))
    started = time.perf_counter()
    synthetic = synth.draw(rows, seed)
    draw_seconds = time.perf_counter() - started
    names = synth.columns
    types = {c: "numeric" if c in synth.numeric else "categorical" for c in names}
    train = {c: table.columns[c][table.splits["train"]] for c in names}
    holdout = {c: table.columns[c][holdout_rows[:rows]] for c in names}
    train_sample = {c: v[np.random.default_rng(seed).permutation(len(v))[:rows]] for c, v in train.items()}
    candidates = {"synthetic": synthetic, "holdout": holdout}
    result: dict[str, Any] = {
        "run": synth.run.id, "method": synth.method, "table": synth.record["table"], "rows": rows,
        "training_rows": len(table.splits["train"]), "seed": seed, "sampling_seconds": round(draw_seconds, 3),
        "quality": {k: quality.shapes_and_trends(train, v, types) for k, v in candidates.items()},
        "ml_efficacy": {k: quality.ml_efficacy(table, v, eval_rows, seed)
                        for k, v in {**candidates, "train": train_sample}.items()},
        "privacy": quality.privacy(train, holdout, synthetic, types),
        "fairness": quality.fairness(table, train, synthetic),
        "missing_rates": {c: {"real": float((train[c] == "").mean()), "synthetic": float((synthetic[c] == "").mean())}
                          for c in names if (train[c] == "").any()},
    }  # fmt: skip
    result["privacy_verdict"] = _verdict(result["privacy"], synth.record.get("preset_values", {}))
    if synth.run.artifact(PRIVACY_FILE).is_file():
        ledger = read_json_object(synth.run.artifact(PRIVACY_FILE))
        result["dp"] = {k: ledger.get(k) for k in ("epsilon", "delta", "noise_multiplier", "max_grad_norm")}
    atomic_write_json(synth.run.artifact(REPORT_FILE), result)
    write_model_card(synth.run)  # the card gains its "Synthetic data report" section
    if target is not None:
        atomic_write_text(target, render_html(result))
        result["html"] = str(target)
    return result


def _verdict(privacy: dict[str, Any], preset: dict[str, Any]) -> dict[str, Any]:
    min_ratio = preset.get("min_dcr_ratio", 0.9)
    max_copies = preset.get("max_exact_copies_ratio", 1.0)
    ratio = privacy["dcr_ratio"]
    copies, baseline = privacy["synthetic"]["exact_copies"], privacy["holdout"]["exact_copies"]
    dcr_ok = ratio is None or ratio >= min_ratio
    copies_ok = copies <= max_copies * baseline + 1e-12
    return {"passes": bool(dcr_ok and copies_ok), "dcr_ratio_at_least": min_ratio, "dcr_ok": bool(dcr_ok),
            "exact_copies_at_most": max_copies * baseline, "exact_copies_ok": bool(copies_ok)}  # fmt: skip


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "–" if value is None else str(value)


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def render_html(report: dict[str, Any]) -> str:
    """A self-contained page of the report (every value escaped)."""
    q, ml, p = report["quality"], report["ml_efficacy"], report["privacy"]
    summary = [
        [k, q[k]["column_shapes"], q[k]["pair_trends"], (ml.get(k) or {}).get("f1"), p[k]["dcr_median"],
         p[k]["exact_copies"], p[k]["nndr_median"]]
        for k in ("synthetic", "holdout")
    ]  # fmt: skip
    columns = [[c, v, q["holdout"]["columns"][c]] for c, v in q["synthetic"]["columns"].items()]
    worst = sorted(q["synthetic"]["pairs"].items(), key=lambda kv: kv[1])[:10]
    fairness = [
        [col, group, g.get("real_share"), g.get("synthetic_share"), g.get("real_positive_rate"), g.get("synthetic_positive_rate")]
        for col, entry in report["fairness"].items() for group, g in entry["groups"].items()
    ]  # fmt: skip
    attack = p["distance_attack"]
    parts = [
        f"<h1>Synthetic table report: {html.escape(report['run'])}</h1>",
        f"<p>{html.escape(report['method'])} on {html.escape(report['table'])}: {report['rows']:,} synthetic rows "
        f"against {report['training_rows']:,} training rows; the holdout is as many real rows the synthesizer never saw.</p>",
        _table(["candidate", "column shapes", "pair trends", "ML efficacy F1", "median DCR", "exact copies", "median NNDR"], summary),
        f"<p>F1 of a classifier trained on {report['rows']:,} real training rows: {_fmt((ml.get('train') or {}).get('f1'))}. "
        f"Distance membership attack: AUC {_fmt(attack['auc'])}, TPR at 1% FPR {_fmt(attack['tpr_at_fpr_0.01'])}. "
        f"Privacy verdict: {'passes' if report['privacy_verdict']['passes'] else 'FAILS'} the preset's thresholds.</p>",
        "<h2>Column shapes</h2>", _table(["column", "synthetic", "holdout"], columns),
        "<h2>Weakest pair trends</h2>", _table(["pair", "synthetic"], [list(kv) for kv in worst]),
        "<h2>Fairness</h2>", _table(["column", "group", "real share", "synthetic share", "real positive rate",
                                     "synthetic positive rate"], fairness),
    ]  # fmt: skip
    if "dp" in report:
        parts.append(
            f"<p>Differential privacy: epsilon {_fmt(report['dp']['epsilon'])}, delta {_fmt(report['dp']['delta'])}.</p>"
        )
    style = "body{font-family:sans-serif;max-width:60em;margin:2em auto}td,th{padding:2px 8px;border-bottom:1px solid #ddd}"
    return f"<!doctype html><html><head><meta charset='utf-8'><title>tabular report</title><style>{style}</style></head><body>{''.join(parts)}</body></html>"

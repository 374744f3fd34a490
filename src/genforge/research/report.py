"""Self-contained HTML reports of a comparison (``compare:FILE``, a record saved by ``compare --save``;
a ``compare sweep:NAME --top K --save`` record is rendered by :mod:`genforge.research.report_top`)
and of a sweep (``sweep:NAME``): the command that gives the result again, the resolved settings, seeds,
tables with their intervals, the pictures (inline PNG) and the machine it ran on (package versions,
torch threads, CPU, git commit of the working directory when there is one).

The page reuses the run report's style (:data:`genforge.pipelines.report.CSS`) and loads nothing from
the network. Everything on it is computed from the saved record or the study's storage, and the only
thing that differs between two renderings of the same inputs on the same machine is the timestamp line.
The record itself is embedded as JSON (``<script type="application/json" id="genforge-record">``), so a
tool can read the numbers back from the page.
"""

from __future__ import annotations

import html
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from genforge.core.errors import ConfigError
from genforge.core.io import atomic_write_text, read_json_object, to_jsonable
from genforge.core.paths import check_output_file
from genforge.pipelines.report import CSS
from genforge.research.compare import RESULT_KIND, compare_values
from genforge.research.figures import cell, html_table, png_bytes, png_img, pyplot
from genforge.research.plot import parallel_coordinates_png, posterior_png
from genforge.research.reproduce import reproduce_section, trained_runs
from genforge.research.sweep import DEFAULT_ROOT, study_summary
from genforge.research.topk import RESULT_KIND as TOP_KIND

PACKAGES = ("genforge", "torch", "numpy", "scipy", "optuna", "matplotlib")


def environment() -> dict[str, Any]:
    """What a result depends on beyond its inputs: versions, threads, CPU and the git commit."""
    import torch

    versions = {"python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "versions": versions,
        "torch_threads": torch.get_num_threads(),
        "cpu": _cpu_name(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "git_commit": _git_commit(),
    }


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git_commit() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _page(title: str, record: dict[str, Any], sections: list[str]) -> str:
    env = environment()
    env_rows = [[k, v] for k, v in env["versions"].items()]
    env_rows += [[k, env[k]] for k in ("torch_threads", "cpu", "cpus", "platform", "git_commit")]
    embedded = json.dumps(to_jsonable(record), sort_keys=True).replace("</", "<\\/")
    return "\n".join(
        [
            "<!DOCTYPE html>",
            "<html lang='en'><head><meta charset='utf-8'>",
            f"<title>genforge report: {html.escape(title)}</title><style>{CSS}</style></head><body>",
            f"<h1>{html.escape(title)}</h1>",
            f"<p class='muted'>generated {time.strftime('%Y-%m-%d %H:%M:%S')}</p>",
            *sections,
            "<h2>Environment</h2>",
            html_table(["", "value"], env_rows),
            f"<script type='application/json' id='genforge-record'>{embedded}</script>",
            "</body></html>",
        ]
    )


def _summary_rows(record: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for side in ("a", "b"):
        s = record[side]["summary"]
        rows.append(
            [side.upper(), s["n"], s["mean"], s["std"], s["iqm"], s["ci_t"], s["ci_percentile"], s["ci_bca"]]
        )
    return rows


def render_comparison(record: dict[str, Any]) -> str:
    """The report of a comparison record (``Comparison.to_dict()``)."""
    if record.get("kind") != RESULT_KIND:
        raise ConfigError("not a genforge comparison record (save one with genforge compare ... --save FILE)")
    runs = trained_runs(record)
    record = {**record, "reproduce": {"runs": runs}}
    settings = record["settings"]
    posterior = compare_values(
        [p["a"] for p in record["pairs"]],
        [p["b"] for p in record["pairs"]],
        direction=record["direction"],
        rope=settings["rope"],
        method=settings["method"],
        rho=settings["rho"],
        seed=settings["seed"],
    )
    level = f"{settings['confidence']:.0%}"
    verdict = (
        f"P(A better) {posterior.p_a_better:.4f} · P(practically equal) {posterior.p_equivalent:.4f} · "
        f"P(B better) {posterior.p_b_better:.4f} — {record['verdict']}"
    )
    sections = [
        f"<p><strong>{html.escape(verdict)}</strong></p>",
        f"<p>A: <code>{html.escape(record['a']['ref'])}</code><br>B: <code>{html.escape(record['b']['ref'])}</code><br>"
        f"{html.escape(record['metric'])}, {html.escape(record['direction'])} is better; "
        f"{html.escape(settings['method'])}, ROPE ±{settings['rope']:g}, rho {settings['rho']:g}</p>",
        "<h2>Command</h2>",
        f"<pre>{html.escape(record['command'])}</pre>",
        "<h2>Posterior of the mean improvement of A over B</h2>",
        png_img(posterior_png(posterior, record["metric"]), "posterior"),
        f"<p class='muted'>classical paired t-test p-value: {cell(posterior.p_value)}</p>",
        f"<h2>Each side over its seeds ({level} intervals of the mean)</h2>",
        html_table(
            ["side", "n", "mean", "std", "IQM", "Student-t", "bootstrap percentile", "bootstrap BCa"],
            _summary_rows(record),
        ),
        "<h2>Pairs (by seed)</h2>",
        html_table(
            ["seed", "A", "B", "A better by", "A run", "B run"],
            [
                [p["seed"], p["a"], p["b"], p["a_improvement"], p["a_run"], p["b_run"]]
                for p in record["pairs"]
            ],
        ),
    ]
    sections.append(reproduce_section(runs))
    if record.get("notes"):
        sections.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in record["notes"]) + "</ul>")
    return _page(f"comparison on {record['metric']}", record, sections)


def _history_png(trials: list[dict[str, Any]], metric: str, lower: bool) -> bytes:
    plt = pyplot()

    done = [t for t in trials if t["state"] == "complete"]
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    ax.plot([t["number"] for t in done], [t["value"] for t in done], "o", label="trial")
    best, line = None, []
    for t in done:
        best = t["value"] if best is None or (t["value"] < best if lower else t["value"] > best) else best
        line.append(best)
    ax.step([t["number"] for t in done], line, where="post", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return png_bytes(fig)


def render_study(summary: dict[str, Any]) -> str:
    """The report of a sweep (``study_summary``'s result)."""
    study = summary["study"]
    space_file = json.dumps(study["space"], indent=2)
    fixed = " ".join(f"--set {k}={v}" for k, v in study["fixed"].items())
    command = (
        f"genforge sweep run {study['family']} --data {study['data']} --space space.json --trials {study['trials']} "
        f"--max-steps {study['max_steps']} --metric {study['metric']} --direction {study['direction']} "
        f"--sampler {study['sampler']} --pruner {study['pruner']} --storage {study['storage']} "
        f"--study {study['name']} --seed {study['seed']} {fixed}"
    ).strip()
    rows = [
        [
            t["number"],
            f"pruned at step {t['last_step']}" if t["state"] == "pruned" else t["state"],
            t["value"],
            json.dumps(t["params"], sort_keys=True),
            t["run"] or t["error"] or "",
        ]
        for t in summary["trials"]
    ]
    best = summary["best"]
    sections = [
        f"<p><strong>best: trial {best['number']}, {html.escape(study['metric'])} {cell(best['value'])}, "
        f"{html.escape(json.dumps(best['params'], sort_keys=True))}</strong></p>"
        if best
        else "<p>No trial has completed yet.</p>",
        "<h2>Command</h2>",
        f"<pre>{html.escape(command)}</pre><p class='muted'>space.json:</p><pre>{html.escape(space_file)}</pre>",
        "<h2>History</h2>",
        png_img(_history_png(summary["trials"], study["metric"], study["direction"] == "lower"), "history"),
        "<h2>Trials</h2>",
        html_table(["trial", "state", study["metric"], "parameters", "run"], rows),
    ]
    if best:
        sections[5:5] = [
            "<h2>Parameters against the objective</h2>",
            png_img(parallel_coordinates_png(summary), "parallel coordinates"),
        ]
    if summary["importances"]:
        sections += [
            "<h2>Parameter importances (Optuna fANOVA)</h2>",
            html_table(["parameter", "importance"], [[k, v] for k, v in summary["importances"].items()]),
        ]
    return _page(f"sweep {study['name']}: {study['family']} on {study['data']}", summary, sections)


def write_research_report(
    ref: str, out: str | os.PathLike, *, studies: str | os.PathLike = DEFAULT_ROOT
) -> Path:
    """Write the report of ``compare:FILE`` or ``sweep:NAME`` to ``out`` (checked before anything is read)."""
    target = check_output_file(out, suffixes=(".html", ".htm"))
    kind, _, name = ref.partition(":")
    if kind == "compare":
        path = Path(name)
        if not path.is_file():
            raise ConfigError(
                f"no comparison record {path} (write one with genforge compare ... --save FILE)"
            )
        record = read_json_object(path)
        if record.get("kind") == TOP_KIND:  # saved by compare sweep:NAME --top K --save FILE
            from genforge.research.report_top import render_top

            page = render_top(record)
        else:
            page = render_comparison(record)
    elif kind == "sweep":
        page = render_study(study_summary(name, studies))
    else:
        raise ConfigError(f"a research report is of compare:FILE or sweep:NAME, got '{ref}'")
    return atomic_write_text(target, page)

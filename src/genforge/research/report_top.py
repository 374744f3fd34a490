"""The report page of a ``compare sweep:NAME --top K`` record (``kind: genforge.sweep-comparison``, saved
by ``--save``): the K best configurations with their parameters, each one's value under every seed and
its summary over the seeds (Student-t, bootstrap and IQM intervals), every pairwise comparison
(P(better), P(practically equal), P(worse), the classical p-value), a picture of the per-seed values
beside the matrix of P(row better than column), and the ``genforge train`` command of every run so that
``genforge reproduce`` can train them again.

Everything on the page comes from the record and the run directories it names, so two renderings of the
same record differ only in their timestamp line (:func:`genforge.research.report._page`).
"""

from __future__ import annotations

import html
import json
import shlex
from pathlib import Path
from typing import Any

from genforge.core.errors import ConfigError
from genforge.core.runs import Run
from genforge.research.figures import html_table, png_bytes, png_img, pyplot
from genforge.research.reproduce import RUN_KEYS, train_command
from genforge.research.topk import RESULT_KIND


def seed_values(record: dict[str, Any]) -> dict[int, dict[int, dict[str, Any]]]:
    """``{trial: {seed: {"value", "run"}}}`` read from the pairwise comparisons' pairs."""
    out: dict[int, dict[int, dict[str, Any]]] = {t["number"]: {} for t in record["trials"]}
    for comparison in record["comparisons"]:
        for pair in comparison["pairs"]:
            for side in ("a", "b"):
                out[comparison[f"{side}_trial"]][pair["seed"]] = {
                    "value": pair[side],
                    "run": pair[f"{side}_run"],
                }
    return out


def top_command(record: dict[str, Any]) -> str:
    """The ``genforge compare`` command that gives this record again."""
    s = record["settings"]
    parts = [
        "genforge",
        "compare",
        f"sweep:{record['study']}",
        "--top",
        str(s["top"]),
        "--seeds",
        str(s["seeds"]),
    ]
    parts += ["--metric", record["metric"], "--direction", record["direction"], "--method", s["method"]]
    parts += ["--rope", f"{s['rope']:g}", "--rho", f"{s['rho']:g}", "--confidence", f"{s['confidence']:g}"]
    parts += ["--seed", str(s["seed"]), "--studies", s["studies"]]
    return " ".join(shlex.quote(p) for p in parts)


def top_runs(record: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The config, seed and train command of every run of every trial (None when a run is gone)."""
    rows = []
    for number, seeds in seed_values(record).items():
        for seed, entry in sorted(seeds.items()):
            run = Run(Path(entry["run"]))
            if not run.config_path.is_file():
                return None
            config = {k: run.read_config()[k] for k in RUN_KEYS}
            rows.append(
                {"side": f"trial {number}", "seed": seed, "config": config, "command": train_command(config)}
            )
    return rows


def top_png(record: dict[str, Any]) -> bytes:
    """Left: each trial's value under every seed with its mean and t-interval; right: P(row better)."""
    plt = pyplot()
    import numpy as np

    values = seed_values(record)
    numbers = [t["number"] for t in record["trials"]]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8), gridspec_kw={"width_ratios": [1.3, 1]})
    for x, trial in enumerate(record["trials"]):
        ys = [v["value"] for _, v in sorted(values[trial["number"]].items())]
        left.plot([x] * len(ys), ys, "o", color="#4c72b0", alpha=0.7)
        low, high = trial["summary"]["ci_t"]
        mean = trial["summary"]["mean"]
        left.errorbar(
            [x + 0.15], [mean], yerr=[[mean - low], [high - mean]], fmt="s", color="#c44e52", capsize=4
        )
    left.set_xticks(range(len(numbers)), [f"trial {n}" for n in numbers])
    left.set_ylabel(f"{record['metric']} ({record['direction']} is better)")
    left.set_title("per seed (dots), mean and t-interval (squares)", fontsize=9)
    left.grid(alpha=0.3)
    matrix = np.full((len(numbers), len(numbers)), np.nan)
    where = {n: i for i, n in enumerate(numbers)}
    for c in record["comparisons"]:
        i, j = where[c["a_trial"]], where[c["b_trial"]]
        matrix[i, j], matrix[j, i] = c["p_a_better"], c["p_b_better"]
    right.imshow(matrix, vmin=0, vmax=1, cmap="Blues")
    for i in range(len(numbers)):
        for j in range(len(numbers)):
            if i != j:
                color = "white" if matrix[i, j] > 0.6 else "black"
                right.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", fontsize=8, color=color)
    labels = [str(n) for n in numbers]
    right.set_xticks(range(len(numbers)), labels)
    right.set_yticks(range(len(numbers)), labels)
    right.set_xlabel("trial (column)")
    right.set_ylabel("trial (row)")
    right.set_title("P(row better than column)", fontsize=9)
    return png_bytes(fig)


def render_top(record: dict[str, Any]) -> str:
    """The report page of a sweep-comparison record (``TopComparison.to_dict()``)."""
    from genforge.research.report import _page
    from genforge.research.reproduce import reproduce_section

    if record.get("kind") != RESULT_KIND:
        raise ConfigError(
            "not a genforge sweep comparison (save one with genforge compare sweep:NAME --save FILE)"
        )
    runs = top_runs(record)
    record = {**record, "command": top_command(record), "reproduce": {"runs": runs}}
    level = f"{record['settings']['confidence']:.0%}"
    values = seed_values(record)
    seeds = sorted({seed for per in values.values() for seed in per})
    configs = [
        [t["number"], json.dumps(t["params"], sort_keys=True), t["sweep_value"], t["summary"]["n"],
         t["summary"]["mean"], t["summary"]["std"], t["summary"]["iqm"], t["summary"]["ci_t"],
         t["summary"]["ci_percentile"], t["summary"]["ci_bca"]]
        for t in record["trials"]
    ]  # fmt: skip
    per_seed = [
        [t["number"], *(values[t["number"]].get(s, {}).get("value") for s in seeds)] for t in record["trials"]
    ]
    pairs = [
        [f"{c['a_trial']} vs {c['b_trial']}", c["p_a_better"], c["p_equivalent"], c["p_b_better"],
         c["posterior"].get("p_value"), c["verdict"]]
        for c in record["comparisons"]
    ]  # fmt: skip
    s = record["settings"]
    sections = [
        f"<p>study <code>{html.escape(record['study'])}</code>: its {len(record['trials'])} best trials, each "
        f"over {s['seeds']} seeds; {html.escape(record['metric'])}, {html.escape(record['direction'])} is "
        f"better; {html.escape(s['method'])}, ROPE ±{s['rope']:g}, rho {s['rho']:g}</p>",
        "<h2>Command</h2>",
        f"<pre>{html.escape(record['command'])}</pre>",
        "<h2>Values over seeds and pairwise probabilities</h2>",
        png_img(top_png(record), "top trials"),
        f"<h2>The configurations ({level} intervals of the mean over seeds)</h2>",
        html_table(
            [
                "trial",
                "parameters",
                "sweep value",
                "n",
                "mean",
                "std",
                "IQM",
                "Student-t",
                "bootstrap percentile",
                "bootstrap BCa",
            ],
            configs,
        ),  # fmt: skip
        "<h2>Each seed</h2>",
        html_table(["trial", *(f"seed {seed}" for seed in seeds)], per_seed),
        "<h2>Every pair (A: the better-ranked trial)</h2>",
        html_table(
            ["A vs B", "P(A better)", "P(practically equal)", "P(B better)", "classical p", "verdict"], pairs
        ),
        reproduce_section(runs),
    ]
    return _page(
        f"sweep {record['study']}: the {len(record['trials'])} best trials compared", record, sections
    )


def reproduce_top(record: dict[str, Any], report: str, folder: Path, on_run=None):
    """Train every run of a sweep-comparison report again into ``folder/<trial>`` (kept when already
    there) and set the new figures beside the recorded ones: per run identical or not, per trial whether
    the new mean lies inside the recorded t-interval, and every pair's probabilities recomputed."""
    from genforge.research.compare import compare_values
    from genforge.research.reproduce import Reproduction, _train_again
    from genforge.research.runsets import read_figure
    from genforge.research.stats import summarize

    runs = (record.get("reproduce") or {}).get("runs")
    if not runs:
        raise ConfigError(
            f"{report} records no training configs: write it again with genforge report compare:FILE"
        )
    settings, metric, recorded = record["settings"], record["metric"], seed_values(record)
    rows = []
    for entry in runs:
        if on_run is not None:
            on_run(entry)
        number = int(entry["side"].split()[-1])
        run = _train_again(entry["config"], folder / str(number))
        value = read_figure(run, metric)
        expected = recorded[number][entry["seed"]]["value"]
        rows.append(
            {
                **entry,
                "run": str(run.path),
                "value": value,
                "recorded": expected,
                "identical": value == expected,
            }
        )
    new = {(int(r["side"].split()[-1]), r["seed"]): r["value"] for r in rows}
    sides = []
    for trial in record["trials"]:
        values = [v for (n, _), v in sorted(new.items()) if n == trial["number"]]
        mean = summarize(values, confidence=settings["confidence"], seed=settings["seed"])["mean"]
        low, high = trial["summary"]["ci_t"]
        sides.append(
            {
                "side": f"trial {trial['number']}",
                "mean": mean,
                "ci_t": [low, high],
                "inside": low <= mean <= high,
            }
        )
    before, after = {}, {}
    for c in record["comparisons"]:
        seeds = [p["seed"] for p in c["pairs"]]
        posterior = compare_values(
            [new[(c["a_trial"], s)] for s in seeds],
            [new[(c["b_trial"], s)] for s in seeds],
            direction=record["direction"],
            rope=settings["rope"],
            method=settings["method"],
            rho=settings["rho"],
            seed=settings["seed"],
        )
        key = f"P({c['a_trial']} better than {c['b_trial']})"
        before[key], after[key] = c["p_a_better"], posterior.p_a_better
    runs_out = [{k: v for k, v in r.items() if k != "config"} for r in rows]
    return Reproduction(str(report), str(folder), metric, runs_out, sides, before, after)

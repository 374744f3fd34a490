"""Synthetic adult (or actg175): TVAE, CTGAN and the Gaussian copula against the holdout and
independent marginals, with the quality + privacy report of ``genforge tabular report``.

Each synthesizer trains on the table's training split (adult: 29,305 rows of the official training
part), then ``--rows`` synthetic rows are compared with the training rows. The two reference rows bound
what a synthesizer can reach: the *holdout* (as many real rows it never saw: the ceiling of quality and
the floor of DCR) and *independent marginals* (each training column shuffled on its own: perfect column
shapes, no dependence at all). The pair-trend gap closed is ``(synth - marginals) / (holdout -
marginals)``. Seconds are wall time of training on a shared 2-core CPU (torch threads stated).

    .venv/bin/python benchmarks/tabular_adult.py [--table adult] [--steps 3000] [--minutes M] [--rows 5000]
        [--methods tvae,ctgan,copula] [--out bench-runs]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch


def marginals_row(report: dict, run_path: str, rows: int, seed: int) -> dict:
    """The report's figures for independently shuffled training columns (no dependence kept)."""
    from genforge.data.synth import SynthOptions, prepared_table
    from genforge.tabular import quality
    from genforge.tabular.engine import load_synthesizer
    from genforge.tabular.report import _halves

    synth = load_synthesizer(run_path)
    options = SynthOptions(**{**synth.run.read_config()["data"]["options"], "log": []})
    table = prepared_table(synth.record["table"], options)
    names = synth.columns
    types = {c: "numeric" if c in synth.numeric else "categorical" for c in names}
    train = {c: table.columns[c][table.splits["train"]] for c in names}
    rng = np.random.default_rng(seed)
    candidate = {c: v[rng.permutation(len(v))[:rows]] for c, v in train.items()}
    holdout_rows, eval_rows = _halves(table.splits["test"])
    holdout = {c: table.columns[c][holdout_rows[:rows]] for c in names}
    q = quality.shapes_and_trends(train, candidate, types)
    p = quality.privacy(train, holdout, candidate, types)
    ml = quality.ml_efficacy(table, candidate, eval_rows, seed) or {}
    return {"shapes": q["column_shapes"], "pairs": q["pair_trends"], "f1": ml.get("f1"),
            "dcr": p["synthetic"]["dcr_median"], "copies": p["synthetic"]["exact_copies"],
            "mia_auc": p["distance_attack"]["auc"], "seconds": 0.0}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default="adult")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument(
        "--minutes", type=float, help="also stop each training at this wall time (steps reached printed)"
    )
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--methods", default="tvae,ctgan,copula")
    parser.add_argument("--out", default="bench-runs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()

    from genforge.core.config import parse_overrides
    from genforge.tabular.engine import train_synthesizer
    from genforge.tabular.report import tabular_report

    overrides = parse_overrides(args.overrides)
    results: dict[str, dict] = {}
    report = None
    for method in args.methods.split(","):
        started = time.perf_counter()
        trained = train_synthesizer(
            method, args.table, out=args.out, seed=args.seed, overrides=overrides if method != "copula" else None,
            max_steps=args.steps if method != "copula" else None,
            max_minutes=args.minutes if method != "copula" else None,
        )  # fmt: skip
        seconds = time.perf_counter() - started
        report = tabular_report(trained["path"], n=args.rows, seed=args.seed)
        p = report["privacy"]
        results[method] = {
            "shapes": report["quality"]["synthetic"]["column_shapes"],
            "pairs": report["quality"]["synthetic"]["pair_trends"],
            "f1": (report["ml_efficacy"]["synthetic"] or {}).get("f1"),
            "dcr": p["synthetic"]["dcr_median"], "copies": p["synthetic"]["exact_copies"],
            "mia_auc": p["distance_attack"]["auc"], "seconds": seconds, "run": trained["path"], "steps": trained["step"],
        }  # fmt: skip
        print(json.dumps({method: results[method]}), flush=True)
    assert report is not None
    p = report["privacy"]
    results["holdout (real)"] = {
        "shapes": report["quality"]["holdout"]["column_shapes"], "pairs": report["quality"]["holdout"]["pair_trends"],
        "f1": (report["ml_efficacy"]["holdout"] or {}).get("f1"), "dcr": p["holdout"]["dcr_median"],
        "copies": p["holdout"]["exact_copies"], "mia_auc": None, "seconds": 0.0,
    }  # fmt: skip
    results["independent marginals"] = marginals_row(report, report_run(results), report["rows"], args.seed)
    floor, ceiling = results["independent marginals"]["pairs"], results["holdout (real)"]["pairs"]
    print(f"\n{args.table}: {report['rows']:,} rows vs {report['training_rows']:,} training rows; "
          f"{args.steps} steps; torch threads {torch.get_num_threads()}")  # fmt: skip
    print(
        "| synthesizer | column shapes | pair trends | gap closed | F1 (train synth, test real) | median DCR "
        "| DCR / holdout's | exact copies | distance-attack AUC | train s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    holdout_dcr = results["holdout (real)"]["dcr"]
    for name, r in results.items():
        gap = (r["pairs"] - floor) / (ceiling - floor) if ceiling != floor else float("nan")
        f1 = "–" if r["f1"] is None else f"{r['f1']:.3f}"
        auc = "–" if r["mia_auc"] is None else f"{r['mia_auc']:.3f}"
        print(f"| {name} | {r['shapes']:.3f} | {r['pairs']:.3f} | {gap:.2f} | {f1} | {r['dcr']:.4f} | "
              f"{r['dcr'] / holdout_dcr:.2f} | {r['copies']:.4f} | {auc} | {r['seconds']:.0f} |")  # fmt: skip


def report_run(results: dict) -> str:
    return next(r["run"] for r in results.values() if "run" in r)


if __name__ == "__main__":
    main()

"""``genforge track export RUNS --to mlflow[:URI]`` and ``genforge track import mlflow:URI --experiment NAME``."""

from __future__ import annotations

import argparse

from genforge.cli.common import add_json, console, print_json, table


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    export = sub.add_parser("export", help="send finished runs to MLflow (runs already there are skipped)")
    export.add_argument("runs", help="a run directory, a folder of runs or a quoted glob")
    export.add_argument(
        "--to",
        default="mlflow",
        metavar="mlflow[:URI]",
        help="MLflow store: mlflow (sqlite:///mlruns/mlflow.db here), mlflow:sqlite:///PATH or mlflow:http://HOST",
    )
    export.add_argument("--experiment", default="genforge", help="MLflow experiment (default genforge)")
    add_json(export)
    export.set_defaults(handler=run_export)
    imp = sub.add_parser("import", help="write one run directory per run of an MLflow experiment")
    imp.add_argument("store", metavar="mlflow[:URI]", help="MLflow store, as for export --to")
    imp.add_argument("--experiment", required=True, help="MLflow experiment to import")
    imp.add_argument("--out", default="runs", help="folder that receives the run directories (default runs/)")
    add_json(imp)
    imp.set_defaults(handler=run_import)


def _show(args: argparse.Namespace, results: list[dict], verb: str) -> int:
    if args.json:
        print_json({"kind": f"genforge.track.{verb}", "runs": results})
        return 0
    rows = [[r["run"], r["status"], r.get("mlflow_run_id", r.get("reason", ""))] for r in results]
    out = console()
    out.print(table(None, ["run", "status", "MLflow run / reason"], rows))
    counts = {s: sum(r["status"] == s for r in results) for s in {r["status"] for r in results}}
    out.print(", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no runs", soft_wrap=True)
    return 0


def run_export(args: argparse.Namespace) -> int:
    from genforge.research.track_io import export_runs
    from genforge.research.tracking import parse_target

    return _show(args, export_runs(args.runs, parse_target(args.to), args.experiment), "export")


def run_import(args: argparse.Namespace) -> int:
    from genforge.research.track_io import import_runs
    from genforge.research.tracking import parse_target

    return _show(args, import_runs(parse_target(args.store), args.experiment, args.out), "import")

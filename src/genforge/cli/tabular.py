"""``genforge tabular train|sample|impute|report``: synthetic tables (TVAE, CTGAN, Gaussian copula)."""

from __future__ import annotations

import argparse

from genforge.cli.common import add_json, add_overrides, add_seed, console, err_console, print_json, table


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    train = sub.add_parser("train", help="train a synthesizer on a table into a new run")
    train.add_argument("method", choices=["tvae", "ctgan", "copula"], help="tvae, ctgan or copula")
    train.add_argument(
        "--data", required=True, help="table: adult, compas, german-credit, actg175 or csv:PATH.csv"
    )
    train.add_argument("--target", help="label column of a csv: table (the report's ML efficacy predicts it)")
    train.add_argument("--preset", help="healthcare, finance or PATH.yaml (an edited copy)")
    train.add_argument("--out", default="runs", help="folder of runs (default runs/)")
    train.add_argument("--max-steps", type=int, help="optimizer steps (tvae, ctgan)")
    train.add_argument("--max-minutes", type=float, help="wall-clock budget of this session (tvae, ctgan)")
    train.add_argument("--dp", action="store_true", help="DP-SGD on the whole TVAE, on CTGAN's critic")
    train.add_argument("--epsilon", type=float, help="target epsilon with --dp (a hard budget)")
    train.add_argument(
        "--noise-multiplier", type=float, help="noise multiplier with --dp (instead of --epsilon)"
    )
    train.add_argument("--delta", type=float, help="delta with --dp (default 1/(10 N))")
    train.add_argument(
        "--max-grad-norm", type=float, help="per-sample clipping norm C with --dp (default 1.0)"
    )
    add_overrides(train, "model or trainer key, e.g. --set latent_dim=64 --set batch_size=256")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    add_seed(train)
    add_json(train)
    train.set_defaults(handler=run_train)

    sample = sub.add_parser("sample", help="draw synthetic rows into a CSV file")
    sample.add_argument("run", help="run directory or id")
    sample.add_argument("-n", type=int, default=1000, help="rows (default 1000)")
    sample.add_argument("--out", help="CSV file (default RUN/samples/synthetic-seed<seed>.csv)")
    sample.add_argument("--condition", help='categorical values the rows must have: "sex=Female,income=>50K"')
    sample.add_argument(
        "--max-tries", type=int, default=100, help="draw at most this many times -n rows (default 100)"
    )
    add_seed(sample)
    add_json(sample)
    sample.set_defaults(handler=run_sample)

    impute = sub.add_parser("impute", help="fill the missing cells of a CSV file from a synthesizer")
    impute.add_argument("data", help="CSV file with the synthesizer's columns (missing cells empty or ?)")
    impute.add_argument("--run", required=True, help="the synthesizer run (directory or id)")
    impute.add_argument("--out", required=True, help="CSV file to write")
    add_seed(impute)
    add_json(impute)
    impute.set_defaults(handler=run_impute)

    report = sub.add_parser(
        "report", help="quality + privacy + fairness of a synthesizer against its holdout"
    )
    report.add_argument("run", help="run directory or id")
    report.add_argument("--out", help="HTML file to write (report.json is always written in the run)")
    report.add_argument("-n", type=int, help="synthetic rows compared (default 5000, at most the holdout's)")
    add_seed(report)
    add_json(report)
    report.set_defaults(handler=run_report)


def run_train(args: argparse.Namespace) -> int:
    from genforge.cli.progress import TrainingProgress
    from genforge.cli.train import _dp_overrides
    from genforge.core.config import parse_overrides
    from genforge.core.seed import seed_everything
    from genforge.tabular.engine import train_synthesizer

    overrides = parse_overrides(args.overrides)
    overrides.update(_dp_overrides(args))  # the same --dp flags, checks and warning filters as 'train'
    seed_everything(args.seed)
    with TrainingProgress(quiet=args.quiet or args.method == "copula") as view:
        result = train_synthesizer(
            args.method, args.data, preset=args.preset, target=args.target, overrides=overrides, out=args.out, seed=args.seed,
            max_steps=args.max_steps, max_minutes=args.max_minutes, progress=view.update,
        )  # fmt: skip
    if args.json:
        print_json(result)
        return 0
    for note in result.get("notes", []):
        err_console().print(f"note: {note}", soft_wrap=True)
    rows = [["run", result["path"]], ["status", result["status"]], ["steps", result["step"]]]
    if result["dropped"]:
        rows.append(["dropped (identifiers)", ", ".join(result["dropped"])])
    if result["log_columns"]:
        rows.append(["log scale", ", ".join(result["log_columns"])])
    if "epsilon" in result.get("metrics", {}):
        rows.append(["epsilon", result["metrics"]["epsilon"]])
    console().print(table(f"{result['method']} on {result['table']}", ["", ""], rows))
    return 0


def run_sample(args: argparse.Namespace) -> int:
    from genforge.tabular.engine import sample_table

    result = sample_table(args.run, args.n, condition=args.condition, out=args.out, seed=args.seed,
                          max_tries=args.max_tries)  # fmt: skip
    if args.json:
        print_json(result)
        return 0
    line = f"{result['rows']:,} rows -> {result['path']}"
    if result["condition"]:
        line += f" (condition met by {result['acceptance']:.2%} of {result['drawn']:,} drawn rows)"
    console().print(line, soft_wrap=True)
    return 0


def run_impute(args: argparse.Namespace) -> int:
    from genforge.tabular.engine import impute_table

    result = impute_table(args.run, args.data, out=args.out, seed=args.seed)
    if args.json:
        print_json(result)
        return 0
    filled = ", ".join(f"{c} {k}" for c, k in result["filled_cells"].items()) or "nothing was missing"
    console().print(
        f"{result['incomplete_rows']} incomplete rows filled ({filled}) -> {result['path']}", soft_wrap=True
    )
    return 0


def run_report(args: argparse.Namespace) -> int:
    from genforge.tabular.report import tabular_report

    result = tabular_report(args.run, n=args.n, out=args.out, seed=args.seed)
    if args.json:
        print_json(result)
        return 0
    q, ml, p = result["quality"], result["ml_efficacy"], result["privacy"]
    rows = [
        [k, q[k]["column_shapes"], q[k]["pair_trends"], (ml.get(k) or {}).get("f1"), p[k]["dcr_median"], p[k]["exact_copies"]]
        for k in ("synthetic", "holdout")
    ]  # fmt: skip
    title = f"{result['method']} on {result['table']}: {result['rows']:,} rows vs the training rows"
    console().print(table(title, ["", "shapes", "pair trends", "F1", "median DCR", "exact copies"], rows))
    attack = p["distance_attack"]
    verdict = "passes" if result["privacy_verdict"]["passes"] else "FAILS"
    console().print(f"distance attack AUC {attack['auc']:.3f}; privacy verdict: {verdict}", soft_wrap=True)
    if "html" in result:
        console().print(f"report -> {result['html']}", soft_wrap=True)
    return 0

"""``genforge fairness audit`` and ``genforge fairness mitigate``."""

from __future__ import annotations

import argparse

from genforge.cli.common import add_json, console, err_console, print_json, table


def _names(text: str | None) -> list[str]:
    return [n.strip() for n in (text or "").split(",") if n.strip()]


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    audit = sub.add_parser("audit", help="per-group rates and disparities of a classifier's predictions")
    source = audit.add_mutually_exclusive_group(required=True)
    source.add_argument("--predictions", metavar="CSV", help="a CSV of true labels, predictions and groups")
    source.add_argument(
        "--data", help="a table (adult, compas, german-credit, actg175): audit a logistic regression"
    )
    source.add_argument(
        "--samples", metavar="RUN", help="a tabular synthesizer run: audit its rows against --reference"
    )
    audit.add_argument("--reference", help="with --samples: the real table (adult, csv:PATH.csv …)")
    audit.add_argument(
        "--rows",
        type=int,
        default=5000,
        help="with --samples: rows drawn and real rows compared (default 5000)",
    )
    audit.add_argument("--y-true", default="label", help="true-label column of --predictions (default label)")
    audit.add_argument("--y-pred", default="pred", help="prediction column of --predictions (default pred)")
    audit.add_argument("--sensitive", help="sensitive column(s), comma-separated (several: intersectional)")
    audit.add_argument("--pos-label", help="the positive label when labels are not 0/1")
    audit.add_argument(
        "--min-group-size", type=int, default=30, help="warn below this many rows (default 30)"
    )
    audit.add_argument(
        "--bootstrap", type=int, default=1000, help="bootstrap resamples for intervals (0 = none)"
    )
    add_json(audit)
    audit.set_defaults(handler=run_audit)
    mit = sub.add_parser("mitigate", help="mitigate a classifier's bias and compare before/after")
    mit.add_argument("--data", required=True, help="a table: adult, compas, german-credit, actg175")
    mit.add_argument("--sensitive", required=True, help="one sensitive column")
    mit.add_argument("--method", choices=["threshold", "expgrad", "reweigh"], default="threshold")
    mit.add_argument(
        "--constraint", choices=["demographic_parity", "equalized_odds"], default="equalized_odds"
    )
    add_json(mit)
    mit.set_defaults(handler=run_mitigate)


def _audit_samples(args: argparse.Namespace, sensitive: list[str], config) -> int:
    from genforge.core.errors import ConfigError
    from genforge.fairness.audit import audit_samples

    if not args.reference:
        raise ConfigError("--samples needs --reference TABLE (the real table the synthesizer imitates)")
    if args.rows < 10:
        raise ConfigError(f"--rows must be at least 10 (got {args.rows})")
    result = audit_samples(args.samples, reference=args.reference, sensitive=sensitive, rows=args.rows,
                           config=config, seed=args.seed)  # fmt: skip
    if args.json:
        print_json(result)
        return 0
    out = console()
    for column, entry in result["groups"].items():
        rows = [[group, g["real_share"], g["synthetic_share"], g.get("real_positive_rate"),
                 g.get("synthetic_positive_rate")] for group, g in entry["groups"].items()]  # fmt: skip
        header = ["group", "real share", "synthetic share", "real label rate", "synthetic label rate"]
        out.print(table(f"{column}: max share gap {entry['max_share_gap']:.4f}", header, rows))
    keys = ("accuracy", "demographic_parity_difference", "equalized_odds_difference")
    rows = [
        [k.replace("_", " ")] + [result["train_on"][t].get(k) for t in ("real", "synthetic")] for k in keys
    ]
    title = f"logistic regression on {result['audited']['test_rows']} real test rows"
    out.print(table(title, ["figure", "trained on real", "trained on synthetic"], rows))
    return 0


def run_audit(args: argparse.Namespace) -> int:
    from genforge.fairness.audit import AuditConfig, audit_model, audit_predictions

    config = AuditConfig.build(
        {"min_group_size": args.min_group_size, "bootstrap": args.bootstrap, "pos_label": args.pos_label},
        where="audit",
    )
    sensitive = _names(args.sensitive)
    if args.samples:
        return _audit_samples(args, sensitive, config)
    if args.predictions:
        result = audit_predictions(
            args.predictions, y_true=args.y_true, y_pred=args.y_pred, sensitive=sensitive, config=config,
            seed=args.seed,
        )  # fmt: skip
    else:
        result = audit_model(args.data, sensitive=sensitive or None, config=config, seed=args.seed)
    if args.json:
        print_json(result)
        return 0
    for warning in result["warnings"]:
        err_console().print(f"warning: {warning}", soft_wrap=True)
    rows = [
        [
            g["group"],
            g["count"],
            g["selection_rate"],
            g["true_positive_rate"],
            g["false_positive_rate"],
            g["accuracy"],
        ]
        for g in result["groups"]
    ]
    out = console()
    overall = result["overall"]
    out.print(
        f"{overall['count']} rows: accuracy {overall['accuracy']:.4f}, selection rate {overall['selection_rate']:.4f}"
    )
    out.print(table("groups", ["group", "rows", "selected", "TPR", "FPR", "accuracy"], rows))
    intervals = result.get("intervals")
    body = [[k.replace("_", " "), v] for k, v in result["disparities"].items()]
    columns = ["metric", "value"]
    if intervals:
        level = result["interval_method"]["confidence"]
        columns.append(f"{level:.0%} interval")
        for row, key in zip(body, result["disparities"], strict=True):
            row.append(f"[{intervals[key][0]:.4f}, {intervals[key][1]:.4f}]")
    out.print(table("disparities (between groups)", columns, body))
    return 0


def run_mitigate(args: argparse.Namespace) -> int:
    from genforge.fairness.mitigate import MitigationConfig, mitigate

    config = MitigationConfig.build({"method": args.method, "constraint": args.constraint}, where="mitigate")
    result = mitigate(args.data, sensitive=args.sensitive, config=config, seed=args.seed)
    if args.json:
        print_json(result)
        return 0
    keys = list(result["before"])
    body = [[k.replace("_", " "), result["before"][k], result["after"][k]] for k in keys]
    title = f"{result['method']} on {result['data']}, {result['rows']} test rows"
    console().print(f"constraint: {result['constraint']}; seed {result['seed']}")
    console().print(table(title, ["metric", "before", "after"], body))
    return 0

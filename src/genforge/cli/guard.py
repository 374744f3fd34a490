"""``genforge guard check|policy|eval|train|calibrate``: run guardrails on text, show the default policy,
measure detection, retrain and recalibrate the learned detector.

``guard check`` exits 0 when the verdict is allow or redact, 3 when it is block (2 for bad input), so scripts can
branch on the verdict: ``genforge guard check "$TEXT" || echo blocked``.
"""

from __future__ import annotations

import argparse
import sys

from genforge.cli.common import add_json, add_seed, console, print_json, table

EXIT_BLOCKED = 3
MAX_TEXT_BYTES = 2**20 - 1  # under 1 MB; the default size rail blocks anything over 8,000 characters


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    check = sub.add_parser(
        "check",
        help="which rails fire on TEXT, with scores and latency; redacted text; exit 3 when blocked",
        description="Run a policy stage on TEXT. Exit status: 0 allow or redact, 3 block, 2 bad input.",
    )
    check.add_argument("text", help="the text to check ('-' reads standard input)")
    check.add_argument(
        "--stage", choices=["input", "context", "output"], default="input", help="rails to run"
    )
    check.add_argument(
        "--context",
        action="append",
        default=[],
        metavar="TEXT",
        help="output stage: a retrieved passage (repeat)",
    )
    check.add_argument(
        "--policy", default=None, metavar="YAML", help="guard policy (default: the shipped one)"
    )
    add_seed(check)
    add_json(check)
    check.set_defaults(handler=run_check)

    policy = sub.add_parser("policy", help="print the shipped default policy (YAML) to copy and edit")
    add_json(policy)
    policy.set_defaults(handler=run_policy)

    ev = sub.add_parser("eval", help="precision / recall / F1 / false-positive rate on a labelled JSONL set")
    ev.add_argument("labelled", help='JSON lines: {"text", "expected": [rail names], "category"?}')
    ev.add_argument("--stage", choices=["input", "context", "output"], default="input", help="rails to run")
    ev.add_argument("--policy", default=None, metavar="YAML", help="guard policy (default: the shipped one)")
    add_seed(ev)
    add_json(ev)
    ev.set_defaults(handler=run_eval)

    train = sub.add_parser(
        "train", help="retrain the learned jailbreak/injection detector on labelled sources"
    )
    train.add_argument(
        "--data", required=True, metavar="SOURCES.yaml", help="YAML list of labelled JSONL sources"
    )
    train.add_argument(
        "--out", required=True, metavar="DIR", help="folder for weights.safetensors + model.json"
    )
    train.add_argument("--c", type=float, default=4.0, help="inverse L2 regularization strength")
    train.add_argument(
        "--target-fpr", type=float, default=0.01, help="false-positive rate the threshold aims at"
    )
    add_seed(train, note="training is deterministic (liblinear); the seed is unused")
    add_json(train)
    train.set_defaults(handler=run_train)

    cal = sub.add_parser("calibrate", help="choose the learned rail's threshold on a labelled dev set")
    cal.add_argument(
        "labelled", help='JSON lines: {"text", "expected": [rail names]}; benign lines set the rate'
    )
    cal.add_argument("--target-fpr", type=float, default=0.01, help="false-positive rate to reach")
    cal.add_argument(
        "--model", default=None, metavar="DIR", help="a model from 'guard train' (default: packaged)"
    )
    cal.add_argument(
        "--out", default=None, metavar="YAML", help="write the default policy with this threshold"
    )
    add_seed(cal, note="calibration is deterministic; the seed is unused")
    add_json(cal)
    cal.set_defaults(handler=run_calibrate)


def _read_text(arg: str) -> str:
    from genforge.core.errors import DataError

    if arg != "-":
        text = arg
    else:
        raw = sys.stdin.buffer.read(MAX_TEXT_BYTES + 1)
        if len(raw) > MAX_TEXT_BYTES:
            raise DataError("standard input is 1 MB or more: check a shorter text")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(f"standard input is not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    if len(text) > MAX_TEXT_BYTES:
        raise DataError("the text is 1 MB or more: check a shorter text")
    if not text.strip():
        raise DataError("the text to check is empty: pass the text, or '-' to read standard input")
    if "\x00" in text:
        raise DataError("the text contains NUL bytes: pass plain text")
    return text


def run_check(args: argparse.Namespace) -> int:
    from genforge.guard import Guard, RailContext

    text = _read_text(args.text)
    guard = Guard.load(args.policy)
    context = RailContext(passages=list(args.context)) if args.stage == "output" else None
    result = guard.check(text, args.stage, context)
    code = EXIT_BLOCKED if result.blocked else 0
    if args.json:
        print_json(result.to_dict())
        return code
    rows = [
        [v.rail, "yes" if v.fired else "", v.score, v.action if v.fired else "", v.latency_ms, v.message]
        for v in result.verdicts
    ]
    out = console()
    out.print(
        table(f"{args.stage} rails: {result.action}", ["rail", "fired", "score", "action", "ms", "why"], rows)
    )
    if result.redacted_text != text:
        out.print(f"redacted: {result.redacted_text}")
    return code


def run_policy(args: argparse.Namespace) -> int:
    from genforge.guard.policy import default_policy_text

    text = default_policy_text()
    if args.json:
        import yaml

        print_json({"policy": yaml.safe_load(text)})
        return 0
    sys.stdout.write(text)
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from genforge.guard import Guard
    from genforge.guard.evaluate import evaluate_guard, load_labelled

    report = evaluate_guard(load_labelled(args.labelled), Guard.load(args.policy), args.stage)
    if args.json:
        print_json(report)
        return 0
    rows = []
    for name, r in [("any rail", report["any"]), *report["rails"].items()]:
        rows.append(
            [
                name,
                r["tp"],
                r["fp"],
                r["fn"],
                r["tn"],
                r["precision"],
                r["recall"],
                r["f1"],
                r["fpr"],
                r["latency_ms_p50"],
                r["latency_ms_p95"],
            ]
        )
    title = f"{report['items']} texts ({report['attacks']} expected to fire, {report['benign']} benign)"
    cols = ["rail", "tp", "fp", "fn", "tn", "precision", "recall", "F1", "FPR", "p50 ms", "p95 ms"]
    out = console()
    out.print(table(title, cols, rows, optional=(1, 2, 3, 4, 5)))
    for key, label in (("by_source", "source"), ("by_kind", "kind")):
        if report[key]:
            group = [
                [name, r["tp"] + r["fn"], r["fp"] + r["tn"], r["recall"], r["fpr"], r["f1"]]
                for name, r in report[key].items()
            ]
            out.print(
                table(f"any rail, per {label}", [label, "attacks", "benign", "recall", "FPR", "F1"], group)
            )
    return 0


def run_train(args: argparse.Namespace) -> int:
    from genforge.guard.training import train_from_sources

    summary = train_from_sources(args.data, args.out, c=args.c, target_fpr=args.target_fpr)
    if args.json:
        print_json(summary)
        return 0
    out = console()
    rows = [[name, count] for name, count in summary["sources"].items()]
    out.print(table(f"trained on {summary['records']} texts", ["source", "texts"], rows))
    out.print(
        f"threshold {summary['threshold']:.4f} (calibrated on {summary['calibration']} benign texts); model in {summary['out']}"
    )
    return 0


def run_calibrate(args: argparse.Namespace) -> int:
    from genforge.guard.training import calibrate_policy

    report = calibrate_policy(args.labelled, target_fpr=args.target_fpr, model=args.model, out=args.out)
    if args.json:
        print_json(report)
        return 0
    recall = "n/a" if report["recall"] is None else f"{report['recall']:.3f}"
    line = f"threshold {report['threshold']:.4f} for FPR <= {report['target_fpr']} on {report['benign']} benign texts; recall {recall} on {report['attacks']} attacks"
    console().print(line + (f"; policy written to {report['policy']}" if "policy" in report else ""))
    return 0

"""``genforge guard check|policy|eval``: run guardrails on text, show the default policy, measure detection."""

from __future__ import annotations

import argparse
import sys

from genforge.cli.common import add_json, add_seed, console, print_json, table


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    check = sub.add_parser("check", help="which rails fire on TEXT, with scores and latency; redacted text")
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


def run_check(args: argparse.Namespace) -> int:
    from genforge.guard import Guard, RailContext

    text = sys.stdin.read() if args.text == "-" else args.text
    guard = Guard.load(args.policy)
    context = RailContext(passages=list(args.context)) if args.stage == "output" else None
    result = guard.check(text, args.stage, context)
    if args.json:
        print_json(result.to_dict())
        return 0
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
    return 0


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
    console().print(table(title, cols, rows))
    return 0

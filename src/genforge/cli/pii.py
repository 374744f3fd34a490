"""``genforge pii scan TABLE.csv`` and ``genforge pii redact TABLE.csv --out CLEAN.csv``."""

from __future__ import annotations

import argparse

from genforge.cli.common import add_json, add_seed, console, print_json, table


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    scan = sub.add_parser("scan", help="which columns of a CSV hold personal data (values and column names)")
    scan.add_argument("path", help="a CSV file with a header row")
    scan.add_argument("--threshold", type=float, default=0.5, help="detector score to count a finding (0.5)")
    scan.add_argument("--max-rows", type=int, default=100_000, help="rows scanned (default 100,000)")
    add_json(scan)
    scan.set_defaults(handler=run_scan)
    red = sub.add_parser("redact", help="write a copy of a CSV with the PII of flagged columns removed")
    red.add_argument("path", help="a CSV file with a header row")
    red.add_argument("--out", required=True, help="the redacted CSV to write")
    red.add_argument(
        "--strategy", choices=["mask", "hash", "fake"], default="mask",
        help="mask (placeholders), hash (salted, joinable) or fake (seeded Faker values of the same type)",
    )  # fmt: skip
    red.add_argument("--locale", default="en_US", help="Faker locale of --strategy fake (default en_US)")
    add_seed(red, note="chooses the fakes of --strategy fake")
    red.add_argument("--threshold", type=float, default=0.5, help="detector score to count a finding (0.5)")
    add_json(red)
    red.set_defaults(handler=run_redact)


def run_scan(args: argparse.Namespace) -> int:
    from genforge.privacy.pii import scan_table

    result = scan_table(args.path, threshold=args.threshold, max_rows=args.max_rows)
    if args.json:
        print_json(result)
        return 0
    rows = [
        [c["column"], c["name_hint"] or "-", c["cells_with_pii"], ", ".join(f"{k} {v}" for k, v in c["types"].items()) or "-",
         "yes" if c["flagged"] else ""]
        for c in result["columns"]
    ]  # fmt: skip
    title = f"{result['rows']} rows, {result['rows_per_second']:.0f} rows/s"
    console().print(table(title, ["column", "name hint", "cells", "found", "flagged"], rows))
    return 0


def run_redact(args: argparse.Namespace) -> int:
    from genforge.privacy.pii import redact_table

    result = redact_table(args.path, args.out, strategy=args.strategy, threshold=args.threshold,
                          seed=args.seed, locale=args.locale)  # fmt: skip
    if args.json:
        print_json(result)
    else:
        columns = ", ".join(result["columns"]) or "none"
        console().print(
            f"wrote {result['out']}: {result['cells_changed']} cells changed in {columns}", soft_wrap=True
        )
    return 0

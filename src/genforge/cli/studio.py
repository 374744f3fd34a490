"""``genforge studio [--runs runs/] [--store DIR] [--port 8001]``: the web page to watch and try runs."""

from __future__ import annotations

import argparse

from genforge.cli.common import add_json, console, print_json


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runs", default="runs", metavar="DIR", help="folder of runs to show (default runs/)"
    )
    parser.add_argument("--store", metavar="DIR", help="RAG store for the Chat and Embeddings pages")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8001, help="port (default 8001)")
    add_json(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from genforge.serve.studio.server import run_studio

    def ready(url: str) -> None:
        if args.json:
            print_json({"studio": url, "runs": args.runs, "store": args.store})
        else:
            console().print(f"genforge studio on {url} (Ctrl-C stops it)")

    run_studio(args.runs, args.store, args.host, args.port, on_ready=ready)
    return 0

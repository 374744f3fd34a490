"""``genforge report RUN --out report.html``: one self-contained HTML page for a run."""

from __future__ import annotations

import argparse

from genforge.cli.common import add_json, add_runs_root, console, print_json


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="run directory, id or unique id prefix; or compare:FILE or sweep:NAME")
    parser.add_argument("--out", default=None, help="HTML file to write (default RUN/report.html)")
    add_runs_root(parser)
    parser.add_argument("--studies", default="studies", metavar="DIR", help="where sweep:NAME is looked up")
    add_json(parser)
    parser.set_defaults(handler=run_report)


def run_report(args: argparse.Namespace) -> int:
    from genforge.core.runs import resolve_run
    from genforge.pipelines.report import write_report

    if args.run.startswith(("compare:", "sweep:")):
        from genforge.research.report import write_research_report

        path = write_research_report(args.run, args.out or "report.html", studies=args.studies)
        label = args.run
    else:
        run = resolve_run(args.run, args.runs)
        path = write_report(run, args.out or run.artifact("report.html"))
        label = run.id
    if args.json:
        print_json({"report": str(path), "run": label, "bytes": path.stat().st_size})
    else:
        console().print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB, self-contained)")
    return 0

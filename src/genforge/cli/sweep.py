"""``genforge sweep run FAMILY --data D --space FILE`` / ``sweep resume NAME`` / ``sweep show NAME``."""

from __future__ import annotations

import argparse

from genforge.cli.common import add_json, add_overrides, add_seed, console, err_console, print_json, table


def _add_root(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--studies", default="studies", metavar="DIR", help="folder of studies (default studies/)"
    )


def _add_jobs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="trials trained at once, each in its own process with cores/N torch threads (default 1; "
        "only 1 makes a study reproducible)",
    )


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    start = sub.add_parser("run", help="start a study: train FAMILY once per trial with sampled parameters")
    start.add_argument("family", help="model family to train (vae, gan, pixelcnn, realnvp, …)")
    start.add_argument("--data", required=True, help="dataset spec (see 'genforge data list')")
    start.add_argument(
        "--space", required=True, help="search-space file (YAML or JSON; see docs/research.md)"
    )
    start.add_argument("--trials", type=int, default=20, help="trials to finish (default 20)")
    start.add_argument("--max-steps", type=int, default=200, help="training steps per trial (default 200)")
    start.add_argument("--max-minutes", type=float, help="start no new trial after this many minutes")
    start.add_argument("--metric", default="val_loss", help="figure to optimise (default val_loss)")
    start.add_argument(
        "--direction", choices=["lower", "higher"], help="which is better, for unknown figures"
    )
    start.add_argument(
        "--sampler",
        choices=["tpe", "random", "grid", "cmaes"],
        default="tpe",
        help="Optuna sampler (default tpe; grid needs steps on floats; cmaes needs the cmaes package)",
    )
    start.add_argument(
        "--pruner", choices=["median", "hyperband", "none"], default="median", help="stop bad trials early"
    )
    start.add_argument(
        "--storage",
        choices=["sqlite", "journal"],
        default="journal",
        help="Optuna storage file (default journal: safe for --jobs; sqlite on request)",
    )
    start.add_argument("--study", help="study name (default FAMILY-DATA)")
    _add_jobs(start)
    add_overrides(start, "fixed config key")
    _add_root(start)
    add_seed(start, note="the trials' training seed and the sampler's")
    add_json(start)
    start.set_defaults(handler=run_start)
    again = sub.add_parser("resume", help="continue a study after Ctrl-C or a crash (same trials)")
    again.add_argument("name", help="study name")
    again.add_argument("--trials", type=int, help="a new target number of trials")
    again.add_argument("--max-minutes", type=float, help="start no new trial after this many minutes")
    _add_jobs(again)
    _add_root(again)
    add_json(again)
    again.set_defaults(handler=run_resume)
    show = sub.add_parser("show", help="trials, the best one and parameter importances")
    show.add_argument("name", help="study name")
    show.add_argument(
        "--plot", metavar="PNG", help="also draw the trials as parallel coordinates (parameters vs objective)"
    )
    show.add_argument(
        "--html",
        metavar="FILE",
        help="also write interactive parallel coordinates (drag on an axis to filter trials; one offline page)",
    )
    _add_root(show)
    add_json(show)
    show.set_defaults(handler=run_show)


def _on_trial(args: argparse.Namespace):
    notes = err_console()

    def tell(finished: int, target: int) -> None:
        if not args.json:
            notes.print(f"trial {finished + 1}/{target}", soft_wrap=True)

    return tell


def _finish(args: argparse.Namespace, call) -> int:
    try:
        result = call()
    except KeyboardInterrupt:
        err_console().print("interrupted: continue with genforge sweep resume NAME", soft_wrap=True)
        return 130
    if args.json:
        print_json(result.to_dict())
        return 0
    out = console()
    out.print(
        f"{result.finished}/{result.target} trials finished (stopped by {result.stopped})", soft_wrap=True
    )
    if result.best:
        out.print(
            f"best: trial {result.best['number']} value {result.best['value']:.4g} {result.best['params']}",
            soft_wrap=True,
        )
    out.print(f"details: genforge sweep show {result.name} --studies {args.studies}", soft_wrap=True)
    return 0


def run_start(args: argparse.Namespace) -> int:
    from genforge.core.config import parse_overrides
    from genforge.research.space import load_space
    from genforge.research.sweep import sweep

    space = load_space(args.space)
    return _finish(
        args,
        lambda: sweep(
            args.family,
            args.data,
            space,
            metric=args.metric,
            direction=args.direction,
            trials=args.trials,
            max_steps=args.max_steps,
            max_minutes=args.max_minutes,
            sampler=args.sampler,
            pruner=args.pruner,
            storage=args.storage,
            name=args.study,
            root=args.studies,
            overrides=parse_overrides(args.overrides),
            seed=args.seed,
            on_trial=_on_trial(args),
            jobs=args.jobs,
        ),
    )


def run_resume(args: argparse.Namespace) -> int:
    from genforge.research.sweep import resume_sweep

    return _finish(
        args,
        lambda: resume_sweep(
            args.name,
            root=args.studies,
            trials=args.trials,
            max_minutes=args.max_minutes,
            on_trial=_on_trial(args),
            jobs=args.jobs,
        ),
    )


def run_show(args: argparse.Namespace) -> int:
    from genforge.core.paths import check_output_file
    from genforge.render.images import image_format
    from genforge.research.plot import save_parallel_coordinates
    from genforge.research.sweep import study_summary

    if args.plot:
        image_format(args.plot)
        check_output_file(args.plot)
    if args.html:
        check_output_file(args.html)
    summary = study_summary(args.name, args.studies)
    if args.plot:
        summary["plot"] = str(save_parallel_coordinates(summary, args.plot))
    if args.html:
        from genforge.research.parallel_html import save_parallel_coordinates_html

        summary["html"] = str(save_parallel_coordinates_html(summary, args.html))
    if args.json:
        print_json(summary)
        return 0
    study = summary["study"]
    out = console()
    rows = [
        [
            t["number"],
            f"pruned at step {t['last_step']}" if t["state"] == "pruned" else t["state"],
            t["value"],
            ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in t["params"].items()),
        ]
        for t in summary["trials"]
    ]
    title = f"study {study['name']}: {study['family']} on {study['data']}, {study['metric']} ({study['direction']} is better)"
    out.print(table(title, ["trial", "state", study["metric"], "parameters"], rows))
    if summary["best"]:
        out.print(f"best: trial {summary['best']['number']} ({summary['best']['run']})", soft_wrap=True)
    if summary["importances"]:
        out.print(
            "importance: " + ", ".join(f"{k} {v:.2f}" for k, v in summary["importances"].items()),
            soft_wrap=True,
        )
    if args.plot:
        out.print(f"plot: {summary['plot']}", soft_wrap=True)
    if args.html:
        out.print(f"html: {summary['html']}", soft_wrap=True)
    return 0

"""``genforge meta train maml|reptile|pretrain --task sinusoid|digits:NwayKshot`` and ``genforge meta eval RUN``."""

from __future__ import annotations

import argparse

from genforge.cli.common import (
    add_json,
    add_overrides,
    add_runs_root,
    add_seed,
    console,
    err_console,
    print_json,
    table,
)
from genforge.cli.tracking import add_tracking, tracked

LABELS = {"mse": "MSE"}


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    train = sub.add_parser("train", help="meta-train an initialisation that adapts in a few steps")
    train.add_argument(
        "algo",
        nargs="?",
        choices=["maml", "reptile", "pretrain"],
        help="maml, reptile or pretrain (baseline)",
    )
    train.add_argument(
        "--task", default="sinusoid", help="sinusoid (default) or digits:NwayKshot, e.g. digits:3way-1shot"
    )
    train.add_argument(
        "--ways", type=int, help="digits: classes per episode (at most 3, the held-out digits)"
    )
    train.add_argument("--shots", type=int, help="support examples (per class for digits)")
    train.add_argument("--query", type=int, help="query examples per task (per class for digits; default 15)")
    train.add_argument("--first-order", action="store_true", help="first-order MAML (no second derivatives)")
    train.add_argument("--inner-steps", type=int, help="adaptation steps per task in training (default 1)")
    train.add_argument("--iterations", type=int, help="meta-iterations (default 70000)")
    train.add_argument("--max-minutes", type=float, help="stop this session after this many minutes")
    train.add_argument("--out", default="runs", help="directory that receives the run (default runs/)")
    add_overrides(train, "override a config key")
    train.add_argument("--resume", metavar="RUN", help="continue RUN exactly where it stopped")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    add_tracking(train)
    add_seed(train)
    add_json(train)
    train.set_defaults(handler=run_train)
    ev = sub.add_parser(
        "eval", help="query MSE/accuracy after 0/1/5/10 adaptation steps on new tasks, with 95%% CI"
    )
    ev.add_argument("run", help="run directory or id")
    ev.add_argument("--episodes", type=int, default=600, help="new tasks to adapt to (default 600)")
    ev.add_argument("--inner-lr", type=float, help="adaptation step size (default: the run's inner_lr)")
    add_runs_root(ev)
    add_seed(ev)
    add_json(ev)
    ev.set_defaults(handler=run_eval)


def run_train(args: argparse.Namespace) -> int:
    from genforge.cli.progress import CountProgress
    from genforge.core.config import parse_overrides
    from genforge.core.errors import ConfigError
    from genforge.core.seed import seed_everything
    from genforge.meta.learner import resume_meta, train_meta

    seed_everything(args.seed)
    overrides = parse_overrides(args.overrides)
    for key, value in (
        ("first_order", args.first_order or None),
        ("inner_steps", args.inner_steps),
        ("iterations", args.iterations),
        ("ways", args.ways),
        ("shots", args.shots),
        ("query", args.query),
    ):
        if value is not None:
            overrides[key] = value
    with (
        CountProgress(f"meta {args.algo or 'resume'}", "iterations", quiet=args.quiet) as bar,
        tracked(
            args, lambda e: bar.update(e["step"], e["total"], f"  meta-loss {e['meta_loss']:.3f}")
        ) as progress,
    ):
        if args.resume:
            if overrides:
                raise ConfigError(
                    "--resume continues a run with its own config: drop --set and training options"
                )
            result = resume_meta(args.resume, max_minutes=args.max_minutes, progress=progress)
        else:
            if not args.algo:
                raise ConfigError(
                    "name a meta-learner to train (maml, reptile, pretrain) or pass --resume RUN"
                )
            result = train_meta(
                args.algo, args.task, out=args.out, seed=args.seed, overrides=overrides,
                max_minutes=args.max_minutes, progress=progress,
            )  # fmt: skip
        notes = progress.finish(result)
    code = 130 if result.status == "interrupted" else 0
    if args.json:
        print_json(
            {
                "run": str(result.run.path),
                "status": result.status,
                "iterations": result.iterations,
                "elapsed_s": result.elapsed_s,
                "evaluation": result.evaluation,
                "notes": notes,
            }
        )
        return code
    out = console()
    for note in notes:
        err_console().print(f"note: {note}", soft_wrap=True)
    out.print(
        f"{result.status}: {result.iterations} meta-iterations in {result.elapsed_s:.1f} s", soft_wrap=True
    )
    if result.evaluation is not None:
        metric = result.evaluation["metric"]
        out.print(
            f"query {LABELS.get(metric, metric)} after 1 step: {result.evaluation[f'{metric}_after_1_step']:.3f}",
            soft_wrap=True,
        )
    out.print(f"run: {result.run.path}", soft_wrap=True)
    if result.status != "completed":
        out.print(f"resume with: genforge meta train --resume {result.run.path}", soft_wrap=True)
    return code


def run_eval(args: argparse.Namespace) -> int:
    from genforge.core.runs import resolve_run
    from genforge.meta.learner import evaluate_meta

    result = evaluate_meta(
        resolve_run(args.run, args.runs), args.episodes, seed=args.seed, inner_lr=args.inner_lr
    )
    if args.json:
        print_json(result)
        return 0
    metric = result["metric"]
    rows = [
        [steps, f"{v[metric]:.4f}", f"{v['ci95'][0]:.4f} .. {v['ci95'][1]:.4f}"]
        for steps, v in result["after_steps"].items()
    ]
    title = f"{result['algo']} on {result['task']}, {result['shots']}-shot, {result['episodes']} tasks"
    console().print(table(title, ["steps", f"query {LABELS.get(metric, metric)}", "95% interval"], rows))
    return 0

"""``genforge finetune embed --pairs FILE`` and ``genforge finetune RUN --data SPEC``: transfer learning.

``embed`` fine-tunes the packaged all-MiniLM-L6-v2 on (anchor, positive[, negative]) pairs
(``genforge.finetune_embedding``); a run id or directory fine-tunes that generator run on new data into a
new run (``genforge.finetune_run``). Both write a run directory; docs/transfer.md has the details.
"""

from __future__ import annotations

import argparse

from genforge.cli.common import add_json, add_overrides, add_seed, console, print_json, table
from genforge.cli.tracking import add_tracking, tracked


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target", metavar="embed|RUN", help="'embed' (the packaged MiniLM) or a generator run"
    )
    parser.add_argument("--pairs", help="embed: JSON lines with anchor, positive[, negative][, score]")
    parser.add_argument("--holdout", metavar="FILE", help="embed: held-out pairs (default: 20%% of --pairs)")
    parser.add_argument("--loss", choices=["mnrl", "cosine"], help="embed: loss (default mnrl)")
    parser.add_argument("--epochs", type=int, help="embed: passes over the pairs (default 1; 2 with --lora)")
    parser.add_argument("--data", help="RUN: dataset spec to fine-tune on (same shape as the run's data)")
    parser.add_argument("--classes", help="RUN with digits: keep these digits, e.g. 7,8,9")
    parser.add_argument("--per-class", type=int, help="RUN with digits: at most N training images per class")
    parser.add_argument("--image-size", type=int, help="RUN: resize images to this square size")
    parser.add_argument(
        "--lora",
        metavar="SPEC",
        nargs="?",
        const="",
        help="train LoRA adapters only (bare --lora: r=8, alpha=8, every linear/conv layer; embed: lr 1e-3, "
        "3 epochs): r=8[,alpha=16][,dropout=0.1][,targets=a*|b*]",
    )
    parser.add_argument(
        "--freeze",
        action="append",
        metavar="PART",
        help="RUN: keep this module (e.g. encoder) fixed; repeatable",
    )
    parser.add_argument("--max-steps", type=int, help="stop after this many steps")
    parser.add_argument("--max-minutes", type=float, help="RUN: stop after this many minutes")
    parser.add_argument("--out", default="runs", help="directory that receives the run (default runs/)")
    add_overrides(parser, "override a training config key, e.g. --set lr=1e-4")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_tracking(parser)
    add_seed(parser)
    add_json(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from genforge.core.config import parse_overrides

    overrides = parse_overrides(args.overrides)
    if args.target == "embed":
        return _embed(args, overrides)
    return _generator(args, overrides)


def _refuse(args: argparse.Namespace, flags: dict[str, object], mode: str) -> None:
    from genforge.core.errors import ConfigError

    given = [flag for flag, value in flags.items() if value not in (None, False)]
    if given:
        raise ConfigError(f"{', '.join(given)} do(es) not apply to {mode}")


def _embed(args: argparse.Namespace, overrides: dict) -> int:
    from genforge.cli.progress import CountProgress
    from genforge.core.errors import ConfigError
    from genforge.transfer.embed import EmbedFinetuneConfig, finetune_embedding
    from genforge.transfer.lora import parse_lora

    _refuse(
        args,
        {"--data": args.data, "--freeze": args.freeze, "--classes": args.classes, "--per-class": args.per_class,
         "--image-size": args.image_size, "--max-minutes": args.max_minutes},
        "finetune embed",
    )  # fmt: skip
    if not args.pairs:
        raise ConfigError("finetune embed needs --pairs FILE (JSON lines: anchor, positive[, negative])")
    values = dict(overrides)
    for key, value in (("loss", args.loss), ("epochs", args.epochs), ("max_steps", args.max_steps)):
        if value is not None:
            values[key] = value
    if args.lora is not None:
        values["lora"] = parse_lora(args.lora).model_dump()
    config = EmbedFinetuneConfig.build(values, where="finetune embed")
    with (
        CountProgress("finetune MiniLM", "steps", quiet=args.quiet or args.json) as bar,
        tracked(args, lambda e: bar.update(e["step"], e["total"], f"  loss {e['loss']:.3f}")) as progress,
    ):
        result = finetune_embedding(
            args.pairs,
            config=config,
            holdout_pairs=args.holdout,
            out=args.out,
            seed=args.seed,
            progress=progress,
        )
        result.notes.extend(progress.finish(result))
    if args.json:
        print_json(
            {
                "run": str(result.run.path),
                "model": str(result.model_path),
                "status": result.status,
                "steps": result.steps,
                "before": result.before,
                "after": result.after,
                "trainable_fraction": result.trainable_fraction,
                "notes": result.notes,
            }
        )
    else:
        out = console()
        if result.before:
            keys = [k for k in result.before if k.startswith(("mrr", "recall"))]
            rows = [[k, f"{result.before[k]:.4f}", f"{result.after[k]:.4f}"] for k in keys]
            out.print(
                table(f"{result.before['pairs']} held-out pairs", ["hold-out", "before", "after"], rows)
            )
        for note in result.notes:
            out.print(f"note: {note}")
        out.print(f"run: {result.run.path} ({result.status}, {result.steps} steps)")
        out.print(f"use it: genforge embed neighbors {result.run.path} ...  (or as a RAG embedding by path)")
    return 0


def _generator(args: argparse.Namespace, overrides: dict) -> int:
    from genforge.cli.progress import TrainingProgress
    from genforge.core.errors import ConfigError
    from genforge.pipelines.finetune import finetune_run

    _refuse(
        args,
        {"--pairs": args.pairs, "--holdout": args.holdout, "--loss": args.loss, "--epochs": args.epochs},
        "a generator run (they are for 'finetune embed')",
    )
    if not args.data:
        raise ConfigError("say what to fine-tune on: --data SPEC (see 'genforge data list')")
    options: dict = {}
    if args.classes:
        try:
            options["classes"] = [int(c) for c in args.classes.split(",")]
        except ValueError:
            raise ConfigError(f"--classes takes digits separated by commas, got {args.classes!r}") from None
    if args.per_class is not None:
        options["per_class"] = args.per_class
    if args.image_size is not None:
        options["image_size"] = args.image_size
    with (
        TrainingProgress("finetune", quiet=args.quiet or args.json) as bar,
        tracked(args, bar.update) as progress,
    ):
        result = finetune_run(
            args.target,
            args.data,
            lora=args.lora,
            freeze=args.freeze,
            data_options=options,
            overrides=overrides,
            out=args.out,
            seed=args.seed,
            max_steps=args.max_steps,
            max_minutes=args.max_minutes,
            progress=progress,
        )
        result.notes.extend(progress.finish(result))
    code = 130 if result.status == "interrupted" else 0
    if args.json:
        print_json(
            {
                "run": str(result.run.path),
                "status": result.status,
                "step": result.step,
                "metrics": result.metrics,
                "evaluation": result.evaluation,
            }
        )
    else:
        out = console()
        for note in result.notes:
            out.print(f"note: {note}")
        out.print(f"run: {result.run.path} ({result.status} at step {result.step})")
    return code

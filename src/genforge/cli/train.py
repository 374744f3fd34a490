"""``genforge train FAMILY --data SPEC`` and ``genforge train --resume RUN``."""

from __future__ import annotations

import argparse

from genforge.cli.common import add_json, add_overrides, add_seed, console, err_console, print_json
from genforge.cli.tracking import add_tracking, tracked

FAMILY_HELP = "model family: vae, gan, pixelcnn, realnvp, gpt, lstm-lm, gru-lm, seq2seq"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("family", nargs="?", help=FAMILY_HELP)
    parser.add_argument(
        "--data", help="dataset spec: digits, toy2d:moons, folder:PATH, text:lee … (see 'genforge data list')"
    )
    parser.add_argument(
        "--task",
        help="built-in seq2seq task (same as --data seq2seq:TASK); for the segmenter: semantic or instance",
    )
    parser.add_argument(
        "--out", default="runs", help="directory that receives the run directory (default runs/)"
    )
    add_seed(parser)
    parser.add_argument("--max-steps", type=int, help="stop after this many optimizer steps")
    parser.add_argument(
        "--max-minutes", type=float, help="stop after this many minutes (default 5 when no budget is given)"
    )
    add_overrides(
        parser, "override a model or trainer config key (repeatable), e.g. --set loss=hinge --set lr=2e-4"
    )
    parser.add_argument(
        "--resume",
        metavar="RUN",
        help="continue RUN exactly where it stopped (a FAMILY given with it must be the run's)",
    )
    data = parser.add_argument_group("data options")
    data.add_argument("--image-size", type=int, help="resize images to this square size")
    data.add_argument("--channels", choices=["auto", "grey", "rgb"], help="image colour mode")
    data.add_argument(
        "--augment", action="append", metavar="NAME", help="augmentation: hflip[=p], shift[=px], noise[=std]"
    )
    data.add_argument("--tokenizer", choices=["char", "bpe"], help="text tokenizer")
    data.add_argument("--vocab-size", type=int, help="BPE vocabulary size")
    data.add_argument("--block-size", type=int, help="tokens per training sequence")
    data.add_argument(
        "--num-examples", type=int, help="pairs generated for a built-in seq2seq task (split 80/10/10)"
    )
    data.add_argument("--test-scenes", type=int, help="scenes: the last N scenes are the test split")
    data.add_argument("--test-fraction", type=float, help="scenes: the last fraction is the test split")
    parser.add_argument(
        "--attention", help="seq2seq attention: bahdanau, luong or transformer (model config key)"
    )
    dp = parser.add_argument_group(
        "differential privacy (DP-SGD through Opacus: pip install 'genforge[privacy]')"
    )
    dp.add_argument("--dp", action="store_true", help="train with DP-SGD (Poisson batches, clipping, noise)")
    dp.add_argument(
        "--epsilon", type=float, help="target epsilon: the noise is set for --max-steps, a hard budget"
    )
    dp.add_argument("--delta", type=float, help="delta (default 1/(10 N))")
    dp.add_argument(
        "--noise-multiplier", type=float, help="noise std over the clipping norm (instead of --epsilon)"
    )
    dp.add_argument("--max-grad-norm", type=float, help="per-sample clipping norm C (default 1.0)")
    parser.add_argument(
        "--distributed",
        choices=["ddp", "ray"],
        help="train in several local processes: ddp (torch DDP, gloo on 127.0.0.1) or ray (Ray Train, "
        "needs genforge[ray]); see docs/deploy.md",
    )
    parser.add_argument(
        "--nproc", type=int, default=1, help="processes for --distributed (at most the cores)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_tracking(parser)
    add_json(parser)
    parser.set_defaults(handler=run)


def _data_options(args: argparse.Namespace) -> dict:
    fields = {
        "image_size": args.image_size,
        "channels": args.channels,
        "augment": args.augment,
        "tokenizer": args.tokenizer,
        "vocab_size": args.vocab_size,
        "block_size": args.block_size,
        "num_examples": args.num_examples,
        "test_scenes": args.test_scenes,
        "test_fraction": args.test_fraction,
    }
    return {k: v for k, v in fields.items() if v is not None}


def _dp_overrides(args: argparse.Namespace) -> dict:
    """``--dp`` and its settings as trainer config keys (``dp_epsilon`` …); settings without --dp are an error."""
    from genforge.core.errors import ConfigError

    values = {
        "dp_epsilon": args.epsilon,
        "dp_delta": args.delta,
        "dp_noise_multiplier": args.noise_multiplier,
        "dp_max_grad_norm": args.max_grad_norm,
    }
    given = {k: v for k, v in values.items() if v is not None}
    if given and not args.dp:
        flags = ", ".join("--" + k[3:].replace("_", "-") for k in given)
        raise ConfigError(f"{flags} only apply with --dp")
    if args.dp:  # Opacus's hooks and RDP orders warn about conditions that are expected here
        import warnings

        warnings.filterwarnings("ignore", message="Full backward hook is firing", category=UserWarning)
        warnings.filterwarnings("ignore", message="Optimal order is the largest alpha", category=UserWarning)
    return {"dp": True, **given} if args.dp else {}


SEGMENTER_TASKS = ("semantic", "instance")


def run(args: argparse.Namespace) -> int:
    from genforge.cli.progress import TrainingProgress
    from genforge.core.config import parse_overrides
    from genforge.core.errors import ConfigError
    from genforge.core.seed import seed_everything
    from genforge.pipelines.runs import headline_text, next_step
    from genforge.pipelines.training import resume, train

    overrides = parse_overrides(args.overrides)
    overrides.update(_dp_overrides(args))
    if args.task in SEGMENTER_TASKS:
        if args.family != "segmenter":
            raise ConfigError(
                f"--task {args.task} is the segmenter's: genforge train segmenter --task {args.task}"
            )
        overrides["task"], args.task = args.task, None
    if args.attention:
        overrides["attention"] = args.attention
    seed_everything(args.seed)
    with TrainingProgress(quiet=args.quiet) as view, tracked(args, view.update) as update:
        if args.resume:
            if overrides or args.data or args.task or _data_options(args):
                raise ConfigError(
                    "--resume continues a run with its own config: drop --data/--set/data options"
                )
            result = resume(
                args.resume,
                family=args.family,
                max_steps=args.max_steps,
                max_minutes=args.max_minutes,
                progress=update,
                distributed=args.distributed,
                nproc=args.nproc,
            )
        else:
            if not args.family:
                raise ConfigError(f"name a family to train ({FAMILY_HELP}) or pass --resume RUN")
            data = f"seq2seq:{args.task}" if args.task else args.data
            if not data:
                raise ConfigError("say what to train on: --data SPEC (see 'genforge data list')")
            result = train(
                args.family,
                data,
                overrides=overrides,
                data_options=_data_options(args),
                out=args.out,
                seed=args.seed,
                max_steps=args.max_steps,
                max_minutes=args.max_minutes,
                progress=update,
                distributed=args.distributed,
                nproc=args.nproc,
            )
        result.notes.extend(update.finish(result))
    code = 0 if result.status != "interrupted" else 143 if result.stop_signal == "SIGTERM" else 130
    if args.json:
        print_json(
            {
                "run": str(result.run.path),
                "status": result.status,
                "step": result.step,
                "elapsed_s": result.elapsed_s,
                "metrics": result.metrics,
                "evaluation": result.evaluation,
                "notes": result.notes,
                "stop_signal": result.stop_signal,
                "distributed": result.distributed,
            }
        )
        return code
    for note in result.notes:
        err_console().print(f"note: {note}", soft_wrap=True)
    out = console()
    figures = ", ".join(f"{k} {v:.4g}" for k, v in result.metrics.items() if isinstance(v, float))
    summary = f"{result.status}: {result.step} steps in {result.elapsed_s:.1f} s"
    out.print(f"{summary}; {figures}" if figures else summary, soft_wrap=True)
    if result.evaluation is not None:
        figure = headline_text(result.evaluation)
        if figure:
            out.print(f"test split: {figure} (eval.json)", soft_wrap=True)
    out.print(f"run: {result.run.path}", soft_wrap=True)
    if result.status == "interrupted":
        out.print(f"resume with: genforge train --resume {result.run.path}", soft_wrap=True)
        return code
    out.print(f"next: {next_step(result.run, result.run.read_config())}", soft_wrap=True)
    return 0

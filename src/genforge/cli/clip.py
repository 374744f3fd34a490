"""``genforge clip train|zeroshot|score``: the CLIP-style dual encoder (thin shell over pipelines/clip.py)."""

from __future__ import annotations

import argparse

from genforge.cli.common import add_json, add_overrides, add_runs_root, add_seed, console, print_json, table


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    tr = sub.add_parser("train", help="train the image/text dual encoder on captioned images")
    tr.add_argument("--data", default="digits-captions", help="captioned dataset (default digits-captions)")
    tr.add_argument("--out", default="runs", help="directory that receives the run (default runs/)")
    tr.add_argument("--max-steps", type=int, help="stop after this many optimizer steps")
    tr.add_argument("--max-minutes", type=float, help="stop after this many minutes (default 5)")
    add_overrides(tr, "override a model or trainer config key, e.g. --set embed_dim=128")
    tr.add_argument("--quiet", action="store_true", help="no progress bar")
    add_seed(tr)
    add_json(tr)
    tr.set_defaults(handler=run_train)
    zs = sub.add_parser("zeroshot", help="zero-shot accuracy and image/text recall@1/5 on the test split")
    zs.add_argument("run", help="clip run directory or id")
    add_runs_root(zs)
    add_seed(zs, note="nothing here is random; accepted by every command")
    add_json(zs)
    zs.set_defaults(handler=run_zeroshot)
    sc = sub.add_parser("score", help="CLIP-score of a generator's samples against prompts")
    sc.add_argument("run", help="image generator run directory or id")
    sc.add_argument("--clip", required=True, help="the clip run that judges")
    sc.add_argument("--prompts", help="text file, one prompt per line (default: 'a zero' .. 'a nine')")
    sc.add_argument("-n", type=int, default=64, help="samples per prompt (default 64)")
    sc.add_argument("--steps", type=int, help="sampling steps (diffusion)")
    sc.add_argument("--guidance", type=float, help="guidance scale (conditional diffusion)")
    add_runs_root(sc)
    add_seed(sc)
    add_json(sc)
    sc.set_defaults(handler=run_score)


def run_train(args: argparse.Namespace) -> int:
    from genforge.cli.progress import TrainingProgress
    from genforge.core.config import parse_overrides
    from genforge.core.seed import seed_everything
    from genforge.pipelines.clip import train_clip

    seed_everything(args.seed)
    with TrainingProgress(quiet=args.quiet) as view:
        result = train_clip(
            args.data, out=args.out, seed=args.seed, overrides=parse_overrides(args.overrides),
            max_steps=args.max_steps, max_minutes=args.max_minutes, progress=view.update,
        )  # fmt: skip
    code = 0 if result.status != "interrupted" else 130
    evaluation = result.evaluation or {}
    if args.json:
        print_json(
            {
                "run": str(result.run.path),
                "status": result.status,
                "step": result.step,
                "elapsed_s": result.elapsed_s,
                "metrics": result.metrics,
                "evaluation": evaluation,
            }
        )
        return code
    out = console()
    out.print(f"{result.status}: {result.step} steps in {result.elapsed_s:.1f} s", soft_wrap=True)
    if "zeroshot_accuracy" in evaluation:
        out.print(f"test split: zero-shot accuracy {evaluation['zeroshot_accuracy']:.3f}", soft_wrap=True)
    out.print(f"run: {result.run.path}", soft_wrap=True)
    if result.status == "interrupted":
        out.print(f"resume with: genforge train --resume {result.run.path}", soft_wrap=True)
    else:
        out.print(f"next: genforge clip zeroshot {result.run.path}", soft_wrap=True)
    return code


def run_zeroshot(args: argparse.Namespace) -> int:
    from genforge.core.runs import resolve_run
    from genforge.pipelines.clip import zeroshot

    result = zeroshot(resolve_run(args.run, args.runs), seed=args.seed)
    if args.json:
        print_json(result)
        return 0
    rows = [
        ["zero-shot accuracy", f"{result['zeroshot_accuracy']:.3f}"],
        *[[key.replace("_", " "), f"{result[key]:.3f}"] for key in result if "recall@" in key],
    ]
    title = f"{result['run']} on {result['num_images']} test images, {result['num_captions']} captions"
    console().print(table(title, ["figure", "value"], rows))
    return 0


def run_score(args: argparse.Namespace) -> int:
    from genforge.core.runs import resolve_run
    from genforge.pipelines.clip import clip_score, read_prompts

    prompts = read_prompts(args.prompts)
    opts = {k: v for k, v in (("steps", args.steps), ("guidance", args.guidance)) if v is not None}
    result = clip_score(
        resolve_run(args.run, args.runs), resolve_run(args.clip, args.runs),
        prompts=prompts, n=args.n, seed=args.seed, **opts,
    )  # fmt: skip
    if args.json:
        print_json(result)
        return 0
    rows = [[prompt, f"{value:.2f}"] for prompt, value in result["per_prompt"].items()]
    rows.append(["mean", f"{result['clip_score']:.2f}"])
    how = "conditioned on each prompt" if result["conditioned_on_prompts"] else "unconditional samples"
    console().print(table(f"CLIP-score of {result['run']} ({how})", ["prompt", "CLIP-score"], rows))
    return 0

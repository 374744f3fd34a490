"""``genforge sample RUN -n 64 --out grid.png`` and ``--interpolate 8``."""

from __future__ import annotations

import argparse

from genforge.cli.common import add_json, add_seed, console, print_json


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="run directory or id")
    parser.add_argument("-n", type=int, help="number of samples (default 64 images, 2000 points, 4 texts)")
    parser.add_argument(
        "--out",
        help="output file: .png, .jpg or .webp for images and points, .txt for text (default RUN/samples/)",
    )
    parser.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (default 1.0)")
    parser.add_argument(
        "--interpolate", type=int, metavar="STEPS", help="latent interpolation with STEPS points per row"
    )
    parser.add_argument("--label", type=int, help="class label for class-conditional models")
    diffusion = parser.add_argument_group("diffusion options")
    diffusion.add_argument(
        "--sampler", choices=["ddpm", "ddim"], help="ddpm (ancestral) or ddim (deterministic)"
    )
    diffusion.add_argument("--steps", type=int, help="sampling steps (default: the run's sample_steps)")
    diffusion.add_argument("--eta", type=float, help="noise per step, 0 (ddim) to 1 (ddpm)")
    diffusion.add_argument(
        "--guidance", type=float, help="classifier-free guidance scale (class-conditional)"
    )
    diffusion.add_argument(
        "--prompt", help="caption to draw, e.g. 'a thick slanted seven' (diffusion trained with cond=text)"
    )
    add_seed(parser)
    add_json(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from genforge.core.seed import seed_everything
    from genforge.pipelines.sampling import interpolate, sample

    seed_everything(args.seed)
    if args.interpolate:
        path = interpolate(args.run, args.interpolate, out=args.out, seed=args.seed)
    else:
        given = {"label": args.label, "sampler": args.sampler, "steps": args.steps, "eta": args.eta}
        given.update(guidance=args.guidance, prompt=args.prompt)
        opts = {k: v for k, v in given.items() if v is not None}
        path = sample(args.run, args.n, out=args.out, seed=args.seed, temperature=args.temperature, **opts)
    if args.json:
        print_json({"run": args.run, "out": str(path), "seed": args.seed})
        return 0
    console().print(f"wrote {path}")
    return 0

"""``genforge eval RUN [--n SAMPLES] [--examples N] [--metrics fd,kid,is,prdc,mmd,nll] [--json]`` and
``genforge eval RUN --guidance-sweep 0,1,3 [--n 500] [--steps S] [--out sweep.png]``."""

from __future__ import annotations

import argparse

from genforge.cli.common import add_json, add_seed, console, print_json, table


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="run directory or id")
    parser.add_argument(
        "--split", default="test", choices=["train", "val", "test"], help="data split (default test)"
    )
    parser.add_argument(
        "--n",
        type=int,
        default=None,
        dest="num_samples",
        metavar="SAMPLES",
        help="samples drawn for sample-based metrics (default 2000)",
    )
    parser.add_argument(
        "--examples",
        type=int,
        default=None,
        dest="num_examples",
        metavar="N",
        help="examples of the split the likelihood terms average over (default: the whole split)",
    )
    parser.add_argument(
        "--metrics",
        help="sample-based metrics, comma separated: fd,kid,is,prdc,mmd (nll: the likelihood terms, always "
        "computed; none: no sample metrics). Default: none, except fd for families without a likelihood (GAN)",
    )
    parser.add_argument(
        "--guidance-sweep",
        metavar="WEIGHTS",
        help="class-conditional diffusion: digits-classifier accuracy and FD-digits at each guidance weight, "
        "e.g. 0,1,3 (--n samples per weight, default 500)",
    )
    parser.add_argument("--steps", type=int, help="with --guidance-sweep: sampling steps (default the run's)")
    parser.add_argument(
        "--out", help="with --guidance-sweep: a picture, one row of samples per weight (.png)"
    )
    add_seed(parser)
    add_json(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.guidance_sweep is not None or args.out is not None or args.steps is not None:
        return run_guidance_sweep(args)
    from genforge.pipelines.evaluate import DEFAULT_NUM_SAMPLES, evaluate_run

    metrics = None
    if args.metrics is not None:
        names = [m.strip() for m in args.metrics.split(",") if m.strip()]
        metrics = [] if names == ["none"] else names
    result = evaluate_run(
        args.run,
        split=args.split,
        num_examples=args.num_examples,
        num_samples=DEFAULT_NUM_SAMPLES if args.num_samples is None else args.num_samples,
        seed=args.seed,
        metrics=metrics,
    )
    if args.json:
        print_json(result)
        return 0
    head = result["headline"]
    rows = []
    if head["value"] is not None:
        against = "" if head["reference"] is None else f" ({head['reference_name']}: {head['reference']:.4g})"
        rows.append(["headline", f"{head['metric']} {head['value']:.4g}{against}"])
    rows += [[k, v] for k, v in result.items() if not isinstance(v, dict | list)]
    for group in ("baseline", "metrics"):
        if isinstance(result.get(group), dict):
            rows += [[f"{group}.{k}", v] for k, v in result[group].items() if not isinstance(v, dict | list)]
    console().print(table(f"eval {result['run']}", ["figure", "value"], rows))
    return 0


def run_guidance_sweep(args: argparse.Namespace) -> int:
    from genforge.core.errors import ConfigError
    from genforge.pipelines.guidance import guidance_sweep

    if args.out is not None:
        from genforge.core.paths import check_output_file
        from genforge.render.images import image_format

        image_format(args.out)
        check_output_file(args.out)  # before any other check, so a bad --out writes nothing
    if args.guidance_sweep is None:
        raise ConfigError(
            "--out and --steps belong to --guidance-sweep: give the weights, e.g. --guidance-sweep 0,1,3"
        )
    if args.metrics is not None or args.num_examples is not None or args.split != "test":
        raise ConfigError(
            "--guidance-sweep reports classifier accuracy and FD-digits itself: drop --metrics, --examples "
            "and --split"
        )
    result = guidance_sweep(
        args.run,
        args.guidance_sweep,
        num_samples=500 if args.num_samples is None else args.num_samples,
        seed=args.seed,
        steps=args.steps,
        picture=args.out,
    )
    if args.json:
        print_json(result)
        return 0
    rows = [
        [f"{r['guidance']:g}", f"{r['accuracy']:.3f}", f"{r['fd_digits']:.3f}", r["seconds"]]
        for r in result["rows"]
    ]
    console().print(
        table(f"guidance sweep {result['run']}", ["guidance", "accuracy", "FD-digits", "seconds"], rows)
    )
    console().print(
        f"{result['n']} samples per weight, {result['sampler']} {result['steps']} steps, seed {result['seed']}; "
        f"the digits classifier's accuracy on the real test split: {result['classifier_test_accuracy']:.4f}"
    )
    if result["picture"]:
        console().print(f"wrote {result['picture']}")
    return 0

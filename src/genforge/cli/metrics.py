"""``genforge metrics fd|kid|prdc|mmd|is|psnr|ssim|ms-ssim|lpips|classify|text|extractors``."""

from __future__ import annotations

import argparse
import sys
import warnings
from typing import Any

from genforge.cli.common import add_json, add_seed, console, print_json, table

EXTRACTOR_HELP = (
    "feature extractor for images: auto (digits for 1x8x8 images, else random-cnn), digits, pixels, "
    "random-cnn, or inception:PATH (FID weights file, SHA-256 checked)"
)
RESIZE_HELP = (
    "how images are brought to the extractor's input size: auto (the extractor's convention), none "
    "(sizes must match), bilinear (torch, antialiased when shrinking), tf1 (TensorFlow-1 bilinear, as "
    "torch-fidelity's FID)"
)

SET_HELP = {
    "fd": "Fréchet distance between two sets (FID with inception:PATH; FD-digits with digits)",
    "kid": "kernel (Inception) distance: unbiased MMD^2, cubic polynomial kernel, seeded subsets",
    "prdc": "improved precision/recall (k=3) and density/coverage (k=5)",
    "mmd": "unbiased MMD^2 with a Gaussian RBF kernel on any features",
}
PAIRED_HELP = {
    "psnr": "peak signal-to-noise ratio of image pairs (dB)",
    "ssim": "structural similarity of image pairs (Gaussian window 11, sigma 1.5)",
    "ms-ssim": "multi-scale SSIM of image pairs (5 scales; images >= 176 px)",
    "lpips": "LPIPS-style distance (unweighted) over the digits CNN's feature maps (1x8x8 images)",
}


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="verb", metavar="METRIC", required=True)
    for name, help_text in SET_HELP.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("real", help="real set: .npz/.npy (key 'features' or 'images') or an image folder")
        p.add_argument("fake", help="generated set, same forms as REAL")
        _add_extractor_args(p)
        if name == "kid":
            p.add_argument("--subsets", type=int, default=100, help="number of random subsets (default 100)")
            p.add_argument("--subset-size", type=int, default=1000, help="samples per subset (default 1000)")
        if name == "prdc":
            p.add_argument("--k-pr", type=int, default=3, help="neighbours for precision/recall (default 3)")
            p.add_argument("--k-dc", type=int, default=5, help="neighbours for density/coverage (default 5)")
        if name == "mmd":
            p.add_argument(
                "--bandwidth", type=float, default=None, help="RBF sigma (default: median distance)"
            )
        p.set_defaults(handler=_run_set, metric=name)

    score = sub.add_parser("is", help="Inception(-style) score of one image set under a classifier extractor")
    score.add_argument("images", help="image folder or .npz/.npy of images")
    _add_extractor_args(score, cache=False)
    score.add_argument("--splits", type=int, default=10, help="number of splits (default 10)")
    score.set_defaults(handler=_run_is)

    for name, help_text in PAIRED_HELP.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("reference", help="reference images (folder, .npz or .npy), paired by order")
        p.add_argument("distorted", help="images to compare, same count and shape")
        if name != "lpips":
            p.add_argument(
                "--data-range",
                type=float,
                default=1.0,
                help="value range of the images as loaded, in [0, 1] (default 1.0)",
            )
        if name in ("ssim", "ms-ssim"):
            p.add_argument("--kernel-size", type=int, default=11, help="Gaussian window size (default 11)")
        add_json(p)
        p.set_defaults(handler=_run_paired, metric=name)

    classify = sub.add_parser(
        "classify", help="precision / recall / F1 / confusion matrix (scikit-learn semantics)"
    )
    classify.add_argument("y_true", help="true labels: one per line (or a CSV, see --column)")
    classify.add_argument("y_pred", help="predicted labels, same length")
    classify.add_argument(
        "--average",
        default="macro",
        choices=["binary", "micro", "macro", "weighted", "none"],
        help="how per-label scores are averaged (default macro)",
    )
    classify.add_argument("--labels", default=None, help="comma-separated labels to score, in this order")
    classify.add_argument("--pos-label", default="1", help="positive class for --average binary (default 1)")
    classify.add_argument(
        "--zero-division",
        default="warn",
        choices=["warn", "0", "1", "nan"],
        help="value for 0/0 precision or recall (default warn: 0 and a warning)",
    )
    classify.add_argument("--beta", type=float, default=1.0, help="F-beta weight of recall (default 1)")
    classify.add_argument(
        "--column", default=None, help="CSV column (index or header name) holding the labels"
    )
    add_json(classify)
    classify.set_defaults(handler=_run_classify)

    text = sub.add_parser("text", help="BLEU, ROUGE, distinct-n and self-BLEU of generated text")
    text.add_argument("hypotheses", help="generated text, one sentence per line")
    text.add_argument("references", nargs="*", help="reference files, one sentence per line, aligned")
    text.add_argument(
        "--max-self-bleu", type=int, default=1000, help="sentences used for self-BLEU (default 1000)"
    )
    add_seed(text)
    add_json(text)
    text.set_defaults(handler=_run_text)

    lst = sub.add_parser("extractors", help="list the feature extractors with their hashes")
    add_json(lst)
    lst.set_defaults(handler=_run_extractors)


def _add_extractor_args(p: argparse.ArgumentParser, cache: bool = True) -> None:
    p.add_argument("--extractor", default="auto", help=EXTRACTOR_HELP)
    p.add_argument("--resize", default="auto", choices=["auto", "none", "bilinear", "tf1"], help=RESIZE_HELP)
    p.add_argument("--n", type=int, default=None, help="use a seeded subset of this many samples per set")
    p.add_argument("--batch-size", type=int, default=256, help="images per extractor batch (default 256)")
    if cache:
        p.add_argument(
            "--cache-dir",
            default=None,
            help="cache real-set features here (default .genforge-cache/stats; see --no-cache)",
        )
        p.add_argument("--no-cache", action="store_true", help="do not read or write the feature cache")
    add_seed(p)
    add_json(p)


def _extraction(args: argparse.Namespace) -> dict[str, Any]:
    """The options :func:`_add_extractor_args` added, as keyword arguments of the measure functions."""
    return {
        "extractor": args.extractor,
        "n": args.n,
        "seed": args.seed,
        "batch_size": args.batch_size,
        "resize": args.resize,
    }


def _show(result: dict[str, Any], as_json: bool, title: str) -> int:
    for note in result.get("warnings") or []:
        print(f"warning: {note}", file=sys.stderr)
    if as_json:
        print_json(result)
        return 0
    from rich.markup import escape

    rows = [
        [k, v if isinstance(v, (int, float)) or v is None else escape(str(v))]
        for k, v in result.items()
        if k != "warnings" and not isinstance(v, (list, dict))
    ]
    console().print(table(title, ["quantity", "value"], rows))
    return 0


def _run_set(args: argparse.Namespace) -> int:
    from genforge.pipelines.measure import DEFAULT_CACHE_DIR, compare_sets

    options: dict[str, Any] = {}
    if args.metric == "kid":
        options = {"subsets": args.subsets, "subset_size": args.subset_size}
    elif args.metric == "prdc":
        options = {"k_pr": args.k_pr, "k_dc": args.k_dc}
    elif args.metric == "mmd":
        options = {"bandwidth": args.bandwidth}
    cache_dir = None if args.no_cache else (args.cache_dir or DEFAULT_CACHE_DIR)
    with warnings.catch_warnings():  # the result's "warnings" list is printed instead
        warnings.simplefilter("ignore")
        result = compare_sets(
            args.metric, args.real, args.fake, cache_dir=cache_dir, options=options, **_extraction(args)
        )
    return _show(result, args.json, f"metrics {args.metric}")


def _run_is(args: argparse.Namespace) -> int:
    from genforge.pipelines.measure import score_set

    result = score_set(args.images, splits=args.splits, **_extraction(args))
    return _show(result, args.json, "metrics is")


def _run_paired(args: argparse.Namespace) -> int:
    from genforge.pipelines.measure import compare_pairs

    options = {"kernel_size": args.kernel_size} if args.metric in ("ssim", "ms-ssim") else {}
    result = compare_pairs(
        args.metric,
        args.reference,
        args.distorted,
        data_range=getattr(args, "data_range", 1.0),
        options=options,
    )
    return _show(result, args.json, f"metrics {args.metric}")


def _run_classify(args: argparse.Namespace) -> int:
    from genforge.pipelines.measure import classify_files

    zero_division: Any = {"warn": "warn", "0": 0, "1": 1, "nan": float("nan")}[args.zero_division]
    labels = None if args.labels is None else [_label(v) for v in args.labels.split(",")]
    column: Any = args.column
    if column is not None and column.isdigit():
        column = int(column)
    with warnings.catch_warnings():  # zero_division="warn" is reported in the result, not as a traceback line
        warnings.simplefilter("ignore")
        result = classify_files(
            args.y_true,
            args.y_pred,
            column=column,
            average=None if args.average == "none" else args.average,
            labels=labels,
            pos_label=_label(args.pos_label),
            zero_division=zero_division,
            beta=args.beta,
        )
    if args.json:
        print_json(result)
        return 0
    head = [[k, v] for k, v in result.items() if not isinstance(v, (list, dict))]
    console().print(table("classification", ["quantity", "value"], head))
    f_key = next(k for k in result["per_label"][0] if k.startswith("f"))
    rows = [[r["label"], r["precision"], r["recall"], r[f_key], r["support"]] for r in result["per_label"]]
    console().print(table("per label", ["label", "precision", "recall", f_key, "support"], rows))
    labels_row = result["confusion_matrix_labels"]
    cm_rows = [[lab, *row] for lab, row in zip(labels_row, result["confusion_matrix"], strict=True)]
    console().print(
        table("confusion matrix (rows: true, columns: predicted)", ["", *map(str, labels_row)], cm_rows)
    )
    return 0


def _label(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        return text


def _run_text(args: argparse.Namespace) -> int:
    from genforge.metrics.text import text_metrics_from_files

    result = text_metrics_from_files(
        args.hypotheses, args.references, max_self_bleu=args.max_self_bleu, seed=args.seed
    )
    return _show(result, args.json, "text metrics")


def _run_extractors(args: argparse.Namespace) -> int:
    from genforge.metrics.extractors import describe_extractors

    rows = describe_extractors()
    if args.json:
        print_json({"extractors": rows})
        return 0
    columns = ["name", "input", "feature_dim", "sha256", "about"]
    console().print(table("feature extractors", columns, [[r.get(c) for c in columns] for r in rows]))
    return 0

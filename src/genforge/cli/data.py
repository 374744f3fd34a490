"""``genforge data list`` / ``genforge data show SPEC``."""

from __future__ import annotations

import argparse

from genforge.cli.common import add_json, console, print_json, table


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    lst = sub.add_parser("list", help="built-in datasets with shapes and sizes")
    lst.add_argument("--kind", help="only datasets of this kind (image, points, tokens, pairs, tabular)")
    add_json(lst)
    lst.set_defaults(handler=run_list)
    show = sub.add_parser("show", help="shape, splits and levels of one dataset spec")
    show.add_argument("spec", help="e.g. digits, toy2d:moons, folder:PATH")
    show.add_argument("--image-size", type=int, default=None, help="resize images to this size")
    add_json(show)
    show.set_defaults(handler=run_show)
    make = sub.add_parser("make", help="generate a synthetic dataset: scenes of digits with boxes and masks")
    make.add_argument("kind", choices=["scenes"], help="what to generate (scenes)")
    make.add_argument("--out", required=True, help="new folder that receives the scenes")
    make.add_argument("--n", type=int, help="number of scenes (default 2000)")
    make.add_argument("--canvas", type=int, help="canvas side in pixels (default 64)")
    make.add_argument("--max-objects", type=int, help="most digits per scene (default 5)")
    make.add_argument("--max-scale", type=int, help="largest whole scale of an 8x8 digit (default 4)")
    make.add_argument(
        "--test-scenes",
        type=int,
        help="the last N scenes are a fixed test split, the same for any --n (default: none fixed)",
    )
    make.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    add_json(make)
    make.set_defaults(handler=run_make)


def run_make(args: argparse.Namespace) -> int:
    from genforge.data.scenes import SceneConfig, make_scenes

    given = {"n": args.n, "canvas": args.canvas, "max_objects": args.max_objects, "max_scale": args.max_scale}
    given["test_scenes"] = args.test_scenes
    config = SceneConfig.build({k: v for k, v in given.items() if v is not None}, where="data make scenes")
    result = make_scenes(args.out, config, seed=args.seed)
    if args.json:
        print_json(result)
        return 0
    console().print(f"wrote {result['n']} scenes with {result['objects']} digits to {result['out']}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from genforge.pipelines.datasets import describe_builtin_datasets

    rows = describe_builtin_datasets(kind=args.kind)
    if args.json:
        print_json({"datasets": rows})
        return 0
    if args.kind == "tabular":
        return _list_tables(rows)
    body = []
    previous_help = None
    for r in rows:
        sizes = r.get("sizes") or {}
        size_text = "/".join(str(sizes[k]) for k in ("train", "val", "test") if k in sizes) or "-"
        about = r.get("unavailable") or ("" if r["help"] == previous_help else r["help"])
        previous_help = r["help"]
        body.append([r["spec"], r["kind"], "x".join(map(str, r.get("shape") or [])) or "-", size_text, about])
    console().print(table("datasets", ["spec", "kind", "shape", "train/val/test", "about"], body))
    return 0


def _list_tables(rows: list[dict]) -> int:
    body = []
    for r in rows:
        t = r.get("table") or {}
        source = t.get("source") or {}
        body.append([r["spec"], t.get("rows", "-"), t.get("columns", "-"), ", ".join(t.get("sensitive") or []) or "-",
                     source.get("package") or "-", source.get("license") or r.get("unavailable") or ""])  # fmt: skip
    console().print(
        table("tabular datasets", ["spec", "rows", "cols", "sensitive", "package", "license"], body)
    )
    return 0


def run_show(args: argparse.Namespace) -> int:
    from genforge.data import load_dataset

    options = {"image_size": args.image_size} if args.image_size else {}
    info = load_dataset(args.spec, options).describe()
    if args.json:
        print_json(info)
    else:
        console().print(table(args.spec, ["field", "value"], [[k, v] for k, v in info.items()]))
    return 0

"""``genforge metrics NAME FILE... [options]`` for every registered metric that reads files, plus
``metrics list`` (the registry) and ``metrics extractors``.

The subcommands come from the metric registry: each metric's inputs from its kind's reader
(``pipelines.measure.READERS``), its flags from its options config (one ``--flag`` per field, help from
the field's description) and the reader's :class:`~genforge.pipelines.measure.ReadOptions`. A flag left
out is not passed, so defaults live in one place, the config. Values are parsed as the config's type
says (``none`` for None, commas for lists) and validated by it: a bad value is one line, exit 2.
"""

from __future__ import annotations

import argparse
import re
import sys
import types
import typing
import warnings
from typing import Any

from genforge.cli.common import add_json, add_seed, console, print_json, table


def configure(parser: argparse.ArgumentParser) -> None:
    from genforge.metrics.registry import metric_specs
    from genforge.pipelines.measure import READERS, ReadOptions

    sub = parser.add_subparsers(dest="verb", metavar="METRIC", required=True)
    for spec in metric_specs():
        reader = READERS.get(spec.kind)
        if reader is None:  # likelihood metrics take a model's outputs, not files
            continue
        p = sub.add_parser(spec.name, help=spec.summary, description=spec.summary)
        for item in reader.inputs:
            p.add_argument(item.name, nargs="*" if item.many else None, help=item.help)
        for name in reader.settings:
            _add_field(p, "read_", name, ReadOptions.model_fields[name])
        if "cache_dir" in reader.settings:
            p.add_argument("--no-cache", action="store_true", help="do not read or write the feature cache")
        for name, field in spec.options.model_fields.items():
            if name != "seed":  # --seed sets it
                _add_field(p, "opt_", name, field, reader.defaults.get(name))
        add_seed(p)
        add_json(p)
        p.set_defaults(handler=_run, metric=spec.name, kind=spec.kind)

    listing = sub.add_parser("list", help="list the registered metrics, their kinds and options")
    add_json(listing)
    listing.set_defaults(handler=_run_list)
    extractors = sub.add_parser("extractors", help="list the feature extractors with their hashes")
    add_json(extractors)
    extractors.set_defaults(handler=_run_extractors)
    _report_unknown_metrics_in_one_line(parser)


def _add_field(parser: argparse.ArgumentParser, prefix: str, name: str, field: Any, cli_default: Any = None):
    """One ``--flag`` for a config field: choices for Literal fields, on/off for booleans, otherwise text
    converted by :func:`_from_text`; absent flags are not passed (the config's default applies)."""
    flag = "--" + name.replace("_", "-")
    annotation = field.annotation
    if cli_default is not None:
        default = f" (default {cli_default})"
    elif field.default_factory is not None or "default" in (field.description or ""):
        default = ""
    else:
        default = " (required)" if field.is_required() else f" (default {_shown(field.default)})"
    help_text = (field.description or name) + default
    if annotation is bool:
        parser.add_argument(
            flag,
            dest=prefix + name,
            action=argparse.BooleanOptionalAction,
            default=argparse.SUPPRESS,
            help=help_text,
        )
        return
    choices = _choices(annotation)
    parser.add_argument(
        flag,
        dest=prefix + name,
        default=argparse.SUPPRESS,
        choices=choices,
        metavar=None if choices else name.upper(),
        help=help_text,
    )


def _shown(value: Any) -> str:
    if isinstance(value, tuple | list):
        return ",".join(map(str, value))
    return "none" if value is None else str(value)


def _args_of(annotation: Any) -> tuple[Any, ...]:
    """The members of a union (``X | None``) or the annotation itself."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    return (annotation,)


def _choices(annotation: Any) -> list[str] | None:
    """``--flag`` choices for ``Literal[...]`` (and ``Literal[...] | None``: adds ``none``)."""
    members = _args_of(annotation)
    literals = [m for m in members if typing.get_origin(m) is typing.Literal]
    others = [m for m in members if m not in literals and m is not type(None)]
    if not literals or others:
        return None
    values = [str(v) for lit in literals for v in typing.get_args(lit)]
    return values + (["none"] if type(None) in members else [])


def _from_text(text: str, annotation: Any) -> Any:
    """A flag's text as the value its config field takes: ``none`` for None where allowed, comma lists
    for list/tuple fields, the text itself for text fields, else a JSON-ish number/bool/text."""
    from genforge.core.config import parse_value

    members = _args_of(annotation)
    if type(None) in members and text.strip().lower() == "none":
        return None
    if any(typing.get_origin(m) in (list, tuple) for m in members):
        return [parse_value(part.strip()) for part in text.split(",") if part.strip()]
    if all(m is str or typing.get_origin(m) is typing.Literal for m in members if m is not type(None)):
        return text
    return parse_value(text)


def _given(args: argparse.Namespace, prefix: str, fields: dict[str, Any]) -> dict[str, Any]:
    values = {}
    for key, value in vars(args).items():
        if key.startswith(prefix):
            name = key[len(prefix) :]
            annotation = fields[name].annotation
            values[name] = value if isinstance(value, bool) else _from_text(value, annotation)
    return values


def _run(args: argparse.Namespace) -> int:
    from genforge.metrics.registry import metric_spec
    from genforge.pipelines.measure import ReadOptions, measure, reader_for

    spec = metric_spec(args.metric)
    reader = reader_for(spec)
    inputs: list[str] = []
    for item in reader.inputs:
        value = getattr(args, item.name)
        inputs += value if item.many else [value]
    reading = _given(args, "read_", ReadOptions.model_fields)
    if getattr(args, "no_cache", False):
        reading["cache_dir"] = None
    options = _given(args, "opt_", spec.options.model_fields)
    with warnings.catch_warnings():  # results list their warnings; zero_division="warn" is in the result
        warnings.simplefilter("ignore")
        result = measure(args.metric, inputs, options=options, reading=reading, seed=args.seed)
    for note in result.get("warnings") or []:
        print(f"warning: {note}", file=sys.stderr)
    if args.json:
        print_json(result)
    elif args.kind == "classification":
        _show_classification(result)
    else:
        rows = [[k, v] for k, v in result.items() if k != "warnings" and not isinstance(v, list | dict)]
        console().print(table(f"metrics {args.metric}", ["quantity", "value"], rows))
    return 0


def _show_classification(result: dict[str, Any]) -> None:
    head = [[k, v] for k, v in result.items() if not isinstance(v, list | dict)]
    console().print(table("classification", ["quantity", "value"], head))
    f_key = next(k for k in result["per_label"][0] if k.startswith("f"))
    rows = [[r["label"], r["precision"], r["recall"], r[f_key], r["support"]] for r in result["per_label"]]
    console().print(table("per label", ["label", "precision", "recall", f_key, "support"], rows))
    labels_row = result["confusion_matrix_labels"]
    cm_rows = [[lab, *row] for lab, row in zip(labels_row, result["confusion_matrix"], strict=True)]
    console().print(
        table("confusion matrix (rows: true, columns: predicted)", ["", *map(str, labels_row)], cm_rows)
    )


def _run_list(args: argparse.Namespace) -> int:
    from genforge.metrics.registry import describe_metrics
    from genforge.pipelines.measure import READERS

    rows = describe_metrics()
    for row in rows:
        row["command"] = f"genforge metrics {row['name']}" if row["kind"] in READERS else "Python only"
    if args.json:
        print_json({"metrics": rows})
        return 0
    body = [
        [r["name"], r["kind"] + ("" if r["kind"] in READERS else " (Python only)"), r["summary"]]
        for r in rows
    ]
    console().print(
        table("registered metrics (genforge metrics NAME --help)", ["name", "kind", "what"], body)
    )
    return 0


def _run_extractors(args: argparse.Namespace) -> int:
    from genforge.metrics.extractors import describe_extractors

    rows = describe_extractors()
    if args.json:
        print_json({"extractors": rows})
        return 0
    columns = ["name", "input", "feature_dim", "sha256", "about"]
    console().print(table("feature extractors", columns, [[r.get(c) for c in columns] for r in rows]))
    return 0


def _report_unknown_metrics_in_one_line(parser: argparse.ArgumentParser) -> None:
    """``genforge metrics NAME`` with an unregistered NAME: one line with the registered names (and the
    closest one), through the parser's own error path (``--json`` errors stay JSON), exit 2."""
    usage_error = parser.error

    def error(message: str) -> typing.NoReturn:
        unknown = re.match(r"argument METRIC: invalid choice: '([^']*)'", message)
        if unknown is not None:
            message = _unknown_metric_message(unknown.group(1))
        usage_error(message)

    parser.error = error  # type: ignore[method-assign]


def _unknown_metric_message(name: str) -> str:
    from genforge.core.errors import GenforgeError
    from genforge.core.suggest import did_you_mean
    from genforge.metrics.registry import METRICS, metric_spec
    from genforge.pipelines.measure import reader_for

    try:
        reader_for(metric_spec(name))  # unregistered, or a metric of model outputs, not files
    except GenforgeError as exc:
        return str(exc) + did_you_mean(name, (m for m in METRICS.names() if m != name))
    return f"unknown metric '{name}'"

"""``genforge serve RUN [RUN ...]``: trained runs, embeddings and RAG over OpenAI-compatible and OIP v2 HTTP."""

from __future__ import annotations

import argparse

from genforge.cli.common import add_json, err_console


def configure(parser: argparse.ArgumentParser) -> None:
    from genforge.serve.config import ServeConfig

    fields = ServeConfig.model_fields
    parser.add_argument(
        "runs", nargs="*", metavar="RUN", help="run directories to serve, as PATH or NAME=PATH"
    )
    parser.add_argument("--rag", metavar="STORE", help=fields["rag"].description)
    parser.add_argument("--embeddings", default="minilm", choices=["minilm", "none"], help=fields["embeddings"].description)  # fmt: skip
    parser.add_argument("--host", default="127.0.0.1", help=fields["host"].description)
    parser.add_argument("--port", type=int, default=8000, help=fields["port"].description)
    parser.add_argument("--workers", type=int, default=1, help=fields["workers"].description)
    parser.add_argument("--threads", type=int, default=1, help=f"{fields['threads'].description} (default 1)")
    parser.add_argument("--api-keys", metavar="FILE", help=fields["api_keys"].description)
    for flag, kind in (("max_batch", int), ("max_batch_tokens", int), ("max_wait_ms", float), ("max_queue", int), ("max_body_mb", float),
                       ("max_tokens", int), ("max_items", int), ("timeout_s", float), ("body_timeout_s", float), ("max_streams", int)):  # fmt: skip
        default = fields[flag].default
        parser.add_argument(f"--{flag.replace('_', '-')}", type=kind, default=default, help=f"{fields[flag].description} (default {default})")  # fmt: skip
    parser.add_argument("--rate", default="20/s", help=f"{fields['rate'].description} (default 20/s)")
    parser.add_argument("--studio", default="runs", metavar="DIR", help=f"{fields['studio'].description} (default runs/)")  # fmt: skip
    parser.add_argument("--skip-broken", action="store_true", help=fields["skip_broken"].description)
    parser.add_argument("--backend", default="uvicorn", choices=["uvicorn", "ray"], help=f"{fields['backend'].description} (default uvicorn)")  # fmt: skip
    for flag, kind in (("min_replicas", int), ("max_replicas", int), ("replica_cpus", float)):
        default = fields[flag].default
        parser.add_argument(f"--{flag.replace('_', '-')}", type=kind, default=default, help=f"{fields[flag].description} (default {default})")  # fmt: skip
    add_json(parser)
    parser.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from genforge.core.errors import ConfigError
    from genforge.serve.config import ServeConfig
    from genforge.serve.server import serve

    names = ("runs", "rag", "embeddings", "host", "port", "workers", "api_keys", "max_batch", "max_wait_ms",
             "max_queue", "max_body_mb", "rate", "max_tokens", "max_items", "timeout_s", "max_streams", "studio", "skip_broken", "threads", "body_timeout_s", "max_batch_tokens")  # fmt: skip
    names += ("backend", "min_replicas", "max_replicas", "replica_cpus")
    try:
        config = ServeConfig(**{n: getattr(args, n) for n in names})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"--{str(first['loc'][0]).replace('_', '-')}: {first['msg']}") from None
    if config.backend == "ray":
        from genforge.serve.ray_backend import serve_ray

        serve_ray(config, announce=lambda line: err_console().print(line))
        return 0
    serve(config, announce=lambda line: err_console().print(line))
    return 0

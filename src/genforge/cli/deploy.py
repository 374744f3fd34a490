"""``genforge deploy docker`` / ``deploy k8s`` / ``deploy check DIR``."""

from __future__ import annotations

import argparse

from genforge.cli.common import add_json, add_overrides, console, print_json


def _common(parser: argparse.ArgumentParser, out: str) -> None:
    parser.add_argument("--out", default=out, help=f"folder that receives the files (default {out}/)")
    parser.add_argument("--image", help="image name:tag (default genforge:0.1.0)")
    parser.add_argument("--port", type=int, help="port the server listens on (default 8000)")
    parser.add_argument(
        "--run",
        dest="runs",
        action="append",
        metavar="PATH",
        help="run directory inside the container to serve (repeatable; default /data/runs/model)",
    )
    add_overrides(
        parser, "any DeployConfig key (uid, extras, cpu_limit, memory_limit, …) — see docs/deploy.md"
    )
    add_json(parser)


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    docker = sub.add_parser("docker", help="multi-stage Dockerfile + .dockerignore for 'genforge serve'")
    _common(docker, "deploy")
    docker.add_argument(
        "--base-image", help="base image pinned by digest (default python:3.11-slim@sha256:…)"
    )
    docker.set_defaults(handler=run_docker)
    k8s = sub.add_parser("k8s", help="Deployment, Service, HPA, PDB and PVC with probes and a non-root pod")
    _common(k8s, "deploy/k8s")
    k8s.add_argument("--replicas", type=int, help="initial replicas, the HPA's minimum (default 2)")
    k8s.add_argument("--max-replicas", type=int, help="the HPA's maximum (default 4)")
    k8s.set_defaults(handler=run_k8s)
    check = sub.add_parser(
        "check", help="hadolint, yamllint, Kubernetes schemas and genforge's policy, offline"
    )
    check.add_argument("path", help="folder (or one file) written by 'deploy docker'/'deploy k8s'")
    check.add_argument("--kubernetes-version", help="Kubernetes version whose schemas apply (default 1.33.0)")
    add_json(check)
    check.set_defaults(handler=run_check)


def _config(args: argparse.Namespace):
    from genforge.core.config import parse_overrides
    from genforge.deploy import DeployConfig

    values = parse_overrides(args.overrides)
    flags = {
        "image": args.image,
        "port": args.port,
        "runs": args.runs,
        "base_image": getattr(args, "base_image", None),
        "replicas": getattr(args, "replicas", None),
        "max_replicas": getattr(args, "max_replicas", None),
    }
    values.update({k: v for k, v in flags.items() if v is not None})
    return DeployConfig.build(values, where="deploy")


def _written(args: argparse.Namespace, paths, next_step: str) -> int:
    if args.json:
        print_json({"written": [str(p) for p in paths], "next": next_step})
        return 0
    out = console()
    for path in paths:
        out.print(f"wrote {path}", soft_wrap=True)
    out.print(f"next: {next_step}", soft_wrap=True)
    return 0


def run_docker(args: argparse.Namespace) -> int:
    from genforge.deploy import write_docker

    paths = write_docker(_config(args), args.out)
    return _written(args, paths, f"genforge deploy check {args.out}")


def run_k8s(args: argparse.Namespace) -> int:
    from genforge.deploy import write_k8s

    paths = write_k8s(_config(args), args.out)
    return _written(args, paths, f"genforge deploy check {args.out}; then see {args.out}/README.txt")


def run_check(args: argparse.Namespace) -> int:
    from genforge.deploy import check_deploy
    from genforge.deploy.config import DEFAULT_KUBERNETES_VERSION

    report = check_deploy(args.path, kubernetes_version=args.kubernetes_version or DEFAULT_KUBERNETES_VERSION)
    if args.json:
        print_json(report.to_dict())
        return 0 if report.ok else 1
    out = console()
    for finding in report.findings:
        out.print(str(finding), soft_wrap=True)
    tools = ", ".join(f"{k} {v}" for k, v in sorted(report.tools.items()))
    verdict = "ok" if report.ok else f"{len(report.findings)} finding(s)"
    out.print(
        f"{verdict}: {len(report.files)} file(s) checked at Kubernetes {report.kubernetes_version} ({tools})",
        soft_wrap=True,
    )
    return 0 if report.ok else 1

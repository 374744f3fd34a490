"""genforge's own deploy rules, on top of hadolint and the Kubernetes schemas: what a container of
``genforge serve`` must be (numeric non-root user, pinned base, health check, read-only root file
system, limits, probes, secrets never in plain values).

Rule ids: ``GFD1xx`` for Dockerfiles, ``GFK2xx`` for Kubernetes manifests. Every finding names the file
and the line. We write these checks ourselves because hadolint and the schemas check the form of the
files, not this policy (hadolint's DL3002 only flags a literal ``USER root`` as the last user).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SECRET_NAME = re.compile(r"(KEY|TOKEN|PASSWORD|SECRET|CREDENTIAL)", re.IGNORECASE)
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "Pod"}


@dataclass
class Finding:
    tool: str  # "genforge", "hadolint", "kubernetes-validate", "yamllint"
    rule: str
    file: str
    line: int
    level: str  # "error" | "warning"
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "rule": self.rule,
            "file": self.file,
            "line": self.line,
            "level": self.level,
            "message": self.message,
        }

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.rule} [{self.tool}] {self.message}"


# Dockerfiles ---------------------------------------------------------------------------------------
def dockerfile_instructions(text: str) -> list[tuple[int, str, str]]:
    """``(line, INSTRUCTION, arguments)`` with continuation lines joined (1-based start line)."""
    out: list[tuple[int, str, str]] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if not pending:
            start = number
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending.append(stripped[:-1])
            continue
        pending.append(stripped)
        joined = " ".join(pending)
        pending = []
        word, _, rest = joined.partition(" ")
        out.append((start, word.upper(), rest.strip()))
    return out


def _final_stage(instructions: list[tuple[int, str, str]]) -> list[tuple[int, str, str]]:
    starts = [i for i, (_, word, _) in enumerate(instructions) if word == "FROM"]
    return instructions[starts[-1] :] if starts else instructions


def _is_json_list(text: str) -> bool:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return False
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def check_dockerfile(path: Path, name: str) -> list[Finding]:
    """genforge's rules for one Dockerfile (``name`` is how findings refer to it)."""
    instructions = dockerfile_instructions(path.read_text(encoding="utf-8", errors="replace"))
    found: list[Finding] = []

    def add(rule: str, line: int, message: str) -> None:
        found.append(Finding("genforge", rule, name, line, "error", message))

    for line, word, rest in instructions:
        if word == "FROM" and "@sha256:" not in rest and rest.split()[0].lower() != "scratch":
            add("GFD101", line, f"base image '{rest.split()[0]}' is not pinned by digest (@sha256:...)")
    final = _final_stage(instructions)
    users = [(line, rest) for line, word, rest in final if word == "USER"]
    last_line = final[-1][0] if final else 1
    if not users:
        add(
            "GFD102", last_line, "the final stage runs as root: add a numeric non-root USER (e.g. USER 10001)"
        )
    else:
        line, rest = users[-1]
        user = rest.split(":")[0].strip()
        if user in ("0", "root"):
            add("GFD102", line, f"the container runs as root (USER {rest}): use a numeric non-root USER")
        elif not user.isdigit():
            add("GFD103", line, f"USER {rest} is not numeric: Kubernetes runAsNonRoot can only verify a uid")
    checks = [(line, rest) for line, word, rest in final if word == "HEALTHCHECK"]
    if not checks:
        add("GFD104", last_line, "the final stage has no HEALTHCHECK (probe /health/live)")
    elif re.search(r"\b(curl|wget)\b", checks[-1][1]):
        add("GFD105", checks[-1][0], "HEALTHCHECK uses curl/wget, which slim images lack: use python -c")
    entry = [(line, rest) for line, word, rest in final if word == "ENTRYPOINT"]
    if not entry:
        add("GFD106", last_line, "the final stage has no ENTRYPOINT")
    elif not _is_json_list(entry[-1][1]):
        add(
            "GFD106",
            entry[-1][0],
            "ENTRYPOINT is in shell form: use the JSON form so signals reach the server",
        )
    return found


# Kubernetes manifests ------------------------------------------------------------------------------
def _lookup(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            return v
    return None


def _path(node: yaml.Node | None, *keys: str) -> yaml.Node | None:
    for key in keys:
        node = _lookup(node, key)
    return node


def _line(node: yaml.Node | None, fallback: yaml.Node) -> int:
    return (node or fallback).start_mark.line + 1


def _scalar(node: yaml.Node | None) -> str | None:
    return node.value if isinstance(node, yaml.ScalarNode) else None


def _pod_spec(doc: yaml.Node) -> yaml.Node | None:
    kind = _scalar(_lookup(doc, "kind"))
    if kind not in WORKLOAD_KINDS:
        return None
    if kind == "Pod":
        return _lookup(doc, "spec")
    return _path(doc, "spec", "template", "spec")


def _containers(pod: yaml.Node) -> Iterator[yaml.Node]:
    for key in ("initContainers", "containers"):
        seq = _lookup(pod, key)
        if isinstance(seq, yaml.SequenceNode):
            yield from seq.value


def _effective(container: yaml.Node, pod: yaml.Node, key: str) -> tuple[str | None, yaml.Node | None]:
    """A security setting as the container sees it (its own, else the pod's) and the node that set it."""
    for ctx in (_lookup(container, "securityContext"), _lookup(pod, "securityContext")):
        node = _lookup(ctx, key)
        if node is not None:
            return _scalar(node), node
    return None, None


def check_workload(doc: yaml.Node, name: str) -> list[Finding]:
    """genforge's rules for one manifest document (a no-op for kinds without pods)."""
    pod = _pod_spec(doc)
    if pod is None:
        return []
    found: list[Finding] = []

    def add(rule: str, node: yaml.Node | None, where: yaml.Node, message: str) -> None:
        found.append(Finding("genforge", rule, name, _line(node, where), "error", message))

    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if _scalar(_lookup(pod, flag)) == "true":
            add("GFK211", _lookup(pod, flag), pod, f"{flag}: true shares the node's namespaces")
    for container in _containers(pod):
        cname = _scalar(_lookup(container, "name")) or "?"
        value, node = _effective(container, pod, "runAsNonRoot")
        if value != "true":
            add("GFK201", node, container, f"container '{cname}': runAsNonRoot must be true")
        value, node = _effective(container, pod, "runAsUser")
        if value == "0":
            add("GFK202", node, container, f"container '{cname}': runAsUser 0 is root")
        ctx = _lookup(container, "securityContext")
        for key, want, rule in (
            ("readOnlyRootFilesystem", "true", "GFK203"),
            ("allowPrivilegeEscalation", "false", "GFK204"),
        ):
            node = _lookup(ctx, key)
            if _scalar(node) != want:
                add(rule, node or ctx, container, f"container '{cname}': {key} must be {want}")
        if _scalar(_lookup(ctx, "privileged")) == "true":
            add("GFK205", _lookup(ctx, "privileged"), container, f"container '{cname}': privileged")
        drop = _path(ctx, "capabilities", "drop")
        if not isinstance(drop, yaml.SequenceNode) or "ALL" not in [_scalar(n) for n in drop.value]:
            add("GFK210", drop or ctx, container, f"container '{cname}': drop ALL capabilities")
        resources = _lookup(container, "resources")
        for part in ("requests", "limits"):
            for res in ("cpu", "memory"):
                if _path(resources, part, res) is None:
                    add("GFK206", resources, container, f"container '{cname}': no {part}.{res}")
        if _lookup(pod, "containers") is not None and container in _lookup(pod, "containers").value:
            for probe in ("livenessProbe", "readinessProbe"):
                if _lookup(container, probe) is None:
                    add("GFK207", None, container, f"container '{cname}': no {probe}")
        image = _scalar(_lookup(container, "image")) or ""
        if "@sha256:" not in image and (":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest")):
            add("GFK209", _lookup(container, "image"), container, f"image '{image}' has no fixed tag")
        env = _lookup(container, "env")
        for item in env.value if isinstance(env, yaml.SequenceNode) else []:
            var = _scalar(_lookup(item, "name")) or ""
            if SECRET_NAME.search(var) and _lookup(item, "value") is not None:
                add(
                    "GFK208",
                    _lookup(item, "value"),
                    item,
                    f"env {var} holds a secret in plain text: use secretKeyRef",
                )
    return found

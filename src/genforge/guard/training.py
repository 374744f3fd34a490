"""Retrain and recalibrate the learned detector on your own labelled data: ``guard train`` and ``guard calibrate``.

A sources file names JSON-lines files, each a list of ``{"text", "label"}`` (1 = attack, 0 = benign) or the
labelled format of ``guard eval`` (``"expected": [...]``: attack when it names ``prompt_injection``,
``jailbreak`` or ``jailbreak_model``, benign when empty, other lines skipped)::

    sources:
      - {name: my-attacks, path: attacks.jsonl, label: 1}        # path relative to this file
      - {name: tickets, path: tickets.jsonl}                      # labels per line
      - {name: spikee, package: spikee, path: spikee/data/x.jsonl, label: 1}   # a file an installed package ships

A fifth of the benign texts (chosen by a hash of the text, so the same on every run) is kept out of training to
calibrate the threshold to ``target_fpr``.
"""

from __future__ import annotations

import hashlib
import os
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from genforge.core import io
from genforge.core.errors import ConfigError, DataError
from genforge.core.paths import check_output_dir, check_output_file
from genforge.guard.detector import DetectorModel, calibrate_threshold, load_model, train_detector

ATTACK_RAILS = {"prompt_injection", "jailbreak", "jailbreak_model"}
MAX_SOURCE_BYTES = 200 * 2**20


def _label(item: dict[str, Any], default: int | None, where: str) -> int | None:
    if "label" in item:
        if item["label"] not in (0, 1) or isinstance(item["label"], bool):
            raise DataError(f"{where}: 'label' must be 0 (benign) or 1 (attack), got {item['label']!r}")
        return int(item["label"])
    if isinstance(item.get("expected"), list):
        expected = set(item["expected"])
        return 1 if expected & ATTACK_RAILS else (0 if not expected else None)
    if default is None:
        raise DataError(f"{where} has no 'label' (0 or 1) and its source gives none: add one")
    return default


def _source_path(entry: dict[str, Any], base: Path) -> Path:
    relative = entry.get("path")
    if not isinstance(relative, str) or not relative:
        raise ConfigError(f"source '{entry.get('name', '?')}' needs a 'path'")
    if entry.get("package"):
        try:
            dist = metadata.distribution(entry["package"])
        except metadata.PackageNotFoundError:
            raise ConfigError(
                f"source '{entry.get('name')}': package {entry['package']} is not installed"
            ) from None
        path = Path(str(dist.locate_file(relative)))
    else:
        path = base / relative
    if not path.is_file():
        raise ConfigError(f"source '{entry.get('name', '?')}': {path} does not exist")
    if path.stat().st_size > MAX_SOURCE_BYTES:
        raise DataError(f"{path} is larger than {MAX_SOURCE_BYTES // 2**20} MB")
    return path


def load_sources(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Records ``{"text", "label", "source", "kind"}`` of every source named in the YAML file at ``path`` (the
    kind is the line's ``kind`` or ``category``, else the source's name)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"sources file {path} does not exist")
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path} is not valid UTF-8 YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(spec, dict) or not isinstance(spec.get("sources"), list) or not spec["sources"]:
        raise ConfigError(f"{path} needs a non-empty 'sources' list (see 'genforge guard train --help')")
    records = []
    for number, entry in enumerate(spec["sources"], 1):
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: source {number} must be a mapping with name and path")
        name = str(entry.get("name") or f"source{number}")
        default = entry.get("label")
        if default not in (None, 0, 1):
            raise ConfigError(f"{path}: source '{name}' label must be 0 or 1")
        file = _source_path(entry, path.parent)
        for line, item in io.read_jsonl_strict(file, what=f"source '{name}'"):
            where = f"{file}:{line}"
            if not isinstance(item.get("text"), str):
                raise DataError(f"{where} needs a 'text' string")
            label = _label(item, default, where)
            if label is not None:
                kind = item.get("kind") or item.get("category") or name
                records.append({"text": item["text"], "label": label, "source": name, "kind": str(kind)})
    return records


def _is_calibration(text: str) -> bool:
    return hashlib.sha256(text.encode("utf-8")).digest()[0] < 52  # about a fifth


def train_from_sources(
    sources: str | os.PathLike, out: str | os.PathLike, *, c: float = 4.0, target_fpr: float = 0.01
) -> dict[str, Any]:
    """Train on the sources file, calibrate on held-back benign texts, save to ``out``; a summary dict."""
    out = check_output_dir(out)
    records = load_sources(sources)
    labels = {r["label"] for r in records}
    if labels != {0, 1}:
        raise DataError(
            f"{sources}: training needs attacks (label 1) and benign texts (label 0); found only {labels or 'none'}"
        )
    calibration = [r for r in records if r["label"] == 0 and _is_calibration(r["text"])]
    train = [r for r in records if not (r["label"] == 0 and _is_calibration(r["text"]))]
    if not calibration:
        raise DataError(f"{sources}: too few benign texts to keep some for calibration (add more)")
    counts = {
        name: sum(r["source"] == name for r in records) for name in sorted({r["source"] for r in records})
    }
    meta = {"c": c, "target_fpr": target_fpr, "sources": counts}
    texts, labels = [r["text"] for r in train], [r["label"] for r in train]
    kinds = [r["kind"] if r["label"] else None for r in train]
    model = train_detector(texts, labels, c=c, meta=meta, kinds=kinds)
    model.threshold = calibrate_threshold(model.probabilities([r["text"] for r in calibration]), target_fpr)
    model.save(out)
    return {
        "out": str(out),
        "records": len(records),
        "calibration": len(calibration),
        "threshold": model.threshold,
        "sources": counts,
    }


def calibrate_policy(
    labelled: str | os.PathLike,
    *,
    target_fpr: float = 0.01,
    model: str | None = None,
    out: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Threshold of the learned rail reaching ``target_fpr`` on the benign lines of ``labelled``; with ``out``,
    the default policy with that threshold (and ``model``) written there as YAML."""
    from genforge.guard.evaluate import load_labelled
    from genforge.guard.policy import default_policy_text

    path = check_output_file(out, suffixes=(".yaml", ".yml")) if out is not None else None
    items = load_labelled(labelled)
    benign = [i["text"] for i in items if not i["expected"]]
    attacks = [i["text"] for i in items if set(i["expected"]) & ATTACK_RAILS]
    if not benign:
        raise DataError(f"{labelled} has no benign lines (expected: []) to calibrate on")
    detector: DetectorModel = load_model(model)
    threshold = calibrate_threshold([detector.score(t)[0] for t in benign], target_fpr)
    recall = sum(detector.score(t)[0] >= threshold for t in attacks) / len(attacks) if attacks else None
    report = {
        "threshold": threshold,
        "target_fpr": target_fpr,
        "benign": len(benign),
        "attacks": len(attacks),
        "recall": recall,
    }
    if path is not None:
        policy = yaml.safe_load(default_policy_text())
        for entry in policy["input"] + policy["context"]:
            if entry.get("rail") == "jailbreak_model":
                entry["threshold"] = round(threshold, 6)
                if model:
                    entry["model"] = str(model)
        io.atomic_write_text(path, yaml.safe_dump(policy, sort_keys=False, allow_unicode=True))
        report["policy"] = str(path)
    return report

"""``reproduce(report.html)``: train again the runs a comparison report records and say which results
fall outside the intervals the report states.

A comparison report embeds its record (``<script id="genforge-record">``) and, since this module,
the resolved training config and seed of every run it compared (``record["reproduce"]["runs"]``, with
the ``genforge train`` command each one amounts to). Reproducing trains each of them again into
``OUT/a`` and ``OUT/b`` (a finished run of the same config and seed already there is kept, so an
interrupted reproduction continues), reads the metric, and sets the new figures beside the recorded
ones: per side, whether the new mean lies inside the recorded Student-t interval of the mean; per run,
whether the figure is the recorded one to the last bit (it is on the same machine and versions: a run
is a pure function of its config and seed); and the comparison's probabilities recomputed from the new
pairs with the recorded settings.
"""

from __future__ import annotations

import html
import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genforge.core.errors import ConfigError
from genforge.core.paths import check_output_dir
from genforge.core.runs import Run, list_runs
from genforge.pipelines.training import resolve_configs, train
from genforge.research.compare import RESULT_KIND, compare_values
from genforge.research.runsets import read_figure
from genforge.research.stats import summarize
from genforge.research.topk import RESULT_KIND as TOP_KIND

RECORD_RE = re.compile(r"<script type='application/json' id='genforge-record'>(.*?)</script>", re.S)
RUN_KEYS = ("family", "model", "train", "data", "seed")
FINISHED = ("completed", "time_budget", "early_stopped")


def read_report_record(path: str | Path) -> dict[str, Any]:
    """The record a genforge research report embeds."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no report {path}")
    match = RECORD_RE.search(path.read_text(encoding="utf-8", errors="replace"))
    if match is None:
        raise ConfigError(f"{path} is not a genforge research report (no embedded genforge-record)")
    try:
        record = json.loads(match.group(1).replace("<\\/", "</"))
    except ValueError:
        raise ConfigError(f"{path}: the embedded record is not valid JSON: the file is damaged") from None
    if not isinstance(record, dict):
        raise ConfigError(f"{path}: the embedded record is not an object: the file is damaged")
    return record


def _value_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def train_command(config: dict[str, Any]) -> str:
    """The ``genforge train`` command of a run config: every setting that differs from the family's
    defaults as ``--set`` (trainer keys prefixed ``train.``), the step budget and the seed."""
    model_default, train_default = resolve_configs(config["family"], None)
    parts = ["genforge", "train", config["family"], "--data", config["data"]["spec"]]
    parts += ["--seed", str(config["seed"])]
    if config["train"].get("max_steps") is not None:
        parts += ["--max-steps", str(config["train"]["max_steps"])]
    defaults = {
        "model": model_default.model_dump(mode="json"),
        "train": train_default.model_dump(mode="json"),
    }
    for group, prefix in (("model", ""), ("train", "train.")):
        for key, value in sorted(config[group].items()):
            if key in ("max_steps", "max_minutes") or defaults[group].get(key) == value:
                continue
            parts += ["--set", f"{prefix}{key}={_value_text(value)}"]
    if config["data"].get("options"):
        parts.append(f"# data options {json.dumps(config['data']['options'], sort_keys=True)}")
    return " ".join(shlex.quote(p) if not p.startswith("#") else p for p in parts)


def trained_runs(record: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The config, seed and train command of every run of a comparison record's pairs, read from the
    run directories; None when one of them is gone (the report then says it cannot be reproduced)."""
    rows = []
    for pair in record["pairs"]:
        for side in ("a", "b"):
            run = Run(Path(pair[f"{side}_run"]))
            if not run.config_path.is_file():
                return None
            config = {k: run.read_config()[k] for k in RUN_KEYS}
            rows.append(
                {"side": side, "seed": pair["seed"], "config": config, "command": train_command(config)}
            )
    return rows


@dataclass
class Reproduction:
    report: str
    folder: str
    metric: str
    runs: list[dict[str, Any]]
    sides: list[dict[str, Any]]
    recorded: dict[str, float]
    reproduced: dict[str, float]

    @property
    def outside(self) -> list[str]:
        return [
            f"side {s['side'].upper()} mean {s['mean']:.6g} outside {s['ci_t']}"
            for s in self.sides
            if not s["inside"]
        ]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "genforge.reproduction", "version": 1, **self.__dict__, "outside": self.outside}


def _kept(folder: Path, config: dict[str, Any]) -> Run | None:
    """A finished run of exactly this config and seed already in ``folder``."""
    for run in list_runs(folder):
        other = run.read_config()
        if all(other.get(k) == config[k] for k in RUN_KEYS) and (
            run.latest_checkpoint_meta().get("status") in FINISHED
        ):
            return run
    return None


def _train_again(config: dict[str, Any], folder: Path) -> Run:
    kept = _kept(folder, config)
    if kept is not None:
        return kept
    overrides = {**config["model"], **{f"train.{k}": v for k, v in config["train"].items()}}
    result = train(
        config["family"],
        config["data"]["spec"],
        overrides=overrides,
        data_options=config["data"].get("options") or {},
        out=folder,
        seed=config["seed"],
    )
    if result.status == "interrupted":
        raise KeyboardInterrupt
    return result.run


def reproduce(report: str | Path, out: str | Path | None = None, *, on_run=None) -> Reproduction:
    """Train again every run ``report`` records into ``out`` (default ``<report>-reproduce/``) and set
    the new figures beside the recorded ones (see the module docstring)."""
    folder = check_output_dir(
        out if out is not None else Path(report).with_suffix("").as_posix() + "-reproduce"
    )
    record = read_report_record(report)
    if record.get("kind") == TOP_KIND:  # a report of compare sweep:NAME --top K
        from genforge.research.report_top import reproduce_top

        return reproduce_top(record, str(report), folder, on_run)
    if record.get("kind") != RESULT_KIND:
        raise ConfigError(
            f"{report}: reproduce takes comparison reports (genforge report compare:FILE, a compare or a "
            "compare sweep:NAME --top K record)"
        )
    runs = (record.get("reproduce") or {}).get("runs")
    if not runs:
        raise ConfigError(
            f"{report} records no training configs: write it again with genforge report compare:FILE"
        )
    settings, metric = record["settings"], record["metric"]
    recorded = {(p["seed"], side): p[side] for p in record["pairs"] for side in ("a", "b")}
    rows = []
    for entry in runs:
        if on_run is not None:
            on_run(entry)
        run = _train_again(entry["config"], folder / entry["side"])
        value = read_figure(run, metric)
        expected = recorded[(entry["seed"], entry["side"])]
        rows.append(
            {
                **entry,
                "run": str(run.path),
                "value": value,
                "recorded": expected,
                "identical": value == expected,
            }
        )
    sides = []
    for side in ("a", "b"):
        values = [r["value"] for r in rows if r["side"] == side]
        summary = summarize(values, confidence=settings["confidence"], seed=settings["seed"])
        low, high = record[side]["summary"]["ci_t"]
        sides.append(
            {
                "side": side,
                "mean": summary["mean"],
                "ci_t": [low, high],
                "inside": low <= summary["mean"] <= high,
            }
        )
    by_seed = {(r["seed"], r["side"]): r["value"] for r in rows}
    seeds = [p["seed"] for p in record["pairs"]]
    posterior = compare_values(
        [by_seed[(s, "a")] for s in seeds],
        [by_seed[(s, "b")] for s in seeds],
        direction=record["direction"],
        rope=settings["rope"],
        method=settings["method"],
        rho=settings["rho"],
        seed=settings["seed"],
    )
    names = ("p_a_better", "p_equivalent", "p_b_better")
    return Reproduction(
        str(report),
        str(folder),
        metric,
        [{k: v for k, v in r.items() if k != "config"} for r in rows],
        sides,
        {k: record[k] for k in names},
        {k: getattr(posterior, k) for k in names},
    )


def reproduce_section(runs: list[dict[str, Any]] | None) -> str:
    """The report's "Reproduce" section: each run's train command and the reproduce command."""
    if runs is None:
        return "<h2>Reproduce</h2><p>Some run directories of this comparison are gone: their configs are not recorded.</p>"
    lines = "\n".join(f"# {r['side'].upper()}, seed {r['seed']}\n{r['command']}" for r in runs)
    return (
        "<h2>Reproduce</h2><p>Every run of the comparison, as the command that trains it again (its "
        "resolved config is in the embedded record); <code>genforge reproduce THIS.html --check</code> "
        "runs them all and checks the results against the intervals above.</p>"
        f"<pre>{html.escape(lines)}</pre>"
    )

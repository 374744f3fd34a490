"""Domain presets for the tabular synthesizers: editable YAML files (``assets/tabular/*.yaml``).

``--preset healthcare`` or ``--preset finance`` names a shipped file; ``--preset my.yaml`` reads the
user's copy. A preset is validated by :class:`Preset` (an unknown key is an error naming it) and
resolved against a table's columns into dataset options (columns to drop, columns modelled on a log
scale), DP settings and the privacy thresholds the report judges by.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydantic import Field

from genforge.core.config import Config
from genforge.core.errors import ConfigError
from genforge.data.tabular import Table
from genforge.privacy.pii import name_hint

PRESET_DIR = Path(__file__).resolve().parent.parent / "assets" / "tabular"


class Preset(Config):
    description: str = Field("", description="what the preset is for")
    drop_identifiers: bool = Field(True, description="drop columns whose names say they identify a person")
    drop: list[str] = Field(default_factory=list, description="further columns to drop (exact names)")
    log: list[str] = Field(default_factory=list, description="numeric columns modelled as log(1 + x)")
    log_name_words: list[str] = Field(
        default_factory=list, description="also log-model non-negative numeric columns whose names hold these"
    )
    sensitive: list[str] = Field(default_factory=list, description="sensitive attributes for the report")
    dp: bool = Field(False, description="differentially private training")
    dp_epsilon: float | None = Field(None, gt=0, description="DP target epsilon")
    min_dcr_ratio: float = Field(0.9, ge=0, description="median DCR at least this fraction of the holdout's")
    max_exact_copies_ratio: float = Field(
        1.0, ge=0, description="exact copies at most this multiple of the holdout's own share"
    )


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def load_preset(name: str | None) -> Preset:
    """The preset named ``name`` (a shipped one, or a path to a YAML file); defaults when None."""
    import yaml

    if name is None:
        return Preset()
    path = Path(name) if name.endswith((".yaml", ".yml")) else PRESET_DIR / f"{name}.yaml"
    if not path.is_file():
        where = f"no preset file {path}" if name.endswith((".yaml", ".yml")) else f"unknown preset '{name}'"
        raise ConfigError(f"{where} (shipped presets: {', '.join(preset_names())}, or a PATH.yaml)")
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(values, dict):
        raise ConfigError(f"{path} must hold a mapping of preset keys")
    return Preset.build(values, where=f"preset {path.name}")


def resolve_columns(preset: Preset, table: Table) -> tuple[list[str], list[str]]:
    """(columns to drop, columns to log-model) of ``table`` under ``preset``."""
    drop = [c for c in preset.drop if c in table.columns]
    if preset.drop_identifiers:
        drop += [c for c in table.columns if name_hint(c) is not None and c not in drop and c != table.target]
    log = [c for c in preset.log if c in table.columns and c not in drop]
    for name, values in table.columns.items():
        lowered = name.lower()
        if name in drop or name in log or table.types[name] != "numeric":
            continue
        if any(word in lowered for word in preset.log_name_words):
            present = values[values != ""].astype(np.float64)
            if len(present) and present.min() >= 0:
                log.append(name)
    return drop, log

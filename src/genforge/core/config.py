"""Validated configuration.

Every config is a pydantic model with ``extra="forbid"``: an unknown key or a bad value becomes a
:class:`ConfigError` naming the key. ``--set key=value`` overrides go through :func:`apply_overrides`,
which parses values as JSON where possible (``true``, ``3``, ``[1,2]``) and as strings otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from genforge.core.errors import ConfigError
from genforge.core.suggest import did_you_mean

C = TypeVar("C", bound="Config")


class Config(BaseModel):
    """Base for all genforge configs: unknown keys are errors, assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, protected_namespaces=())

    @classmethod
    def build(cls: type[C], values: Mapping[str, Any] | None = None, *, where: str = "config") -> C:
        """Validate ``values`` into this config or raise one-line ConfigError naming the key."""
        try:
            return cls.model_validate(dict(values or {}))
        except ValidationError as exc:
            raise ConfigError(describe_validation_error(exc, where, cls.model_fields)) from None

    @classmethod
    def describe(cls) -> list[tuple[str, str, Any]]:
        """(name, description, default) for every field: the source of ``--help`` listings."""
        return [(name, f.description or "", f.default) for name, f in cls.model_fields.items()]


def describe_validation_error(exc: ValidationError, where: str, fields: Iterable[str] = ()) -> str:
    err = exc.errors()[0]
    key = ".".join(str(p) for p in err["loc"]) or "?"
    if err["type"] == "extra_forbidden":
        return f"unknown {where} key '{key}'{did_you_mean(key, fields)}"
    return f"bad value for {where} key '{key}': {err['msg']} (got {err.get('input')!r})"


def parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_overrides(pairs: Iterable[str]) -> dict[str, Any]:
    """Turn ``["loss=hinge", "lr=1e-3"]`` into ``{"loss": "hinge", "lr": 0.001}``."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects key=value, got '{pair}'")
        out[key.strip()] = parse_value(value.strip())
    return out


def split_overrides(
    overrides: Mapping[str, Any], sections: Mapping[str, type[Config]]
) -> dict[str, dict[str, Any]]:
    """Route flat overrides to config sections.

    A key may be qualified (``train.lr``) or bare (``lr``); a bare key goes to the one section that has
    such a field. Unknown keys raise ConfigError listing the sections searched.
    """
    routed: dict[str, dict[str, Any]] = {name: {} for name in sections}
    for key, value in overrides.items():
        section, dot, field = key.partition(".")
        if dot and section in sections:
            routed[section][field] = value
            continue
        owners = [name for name, cls in sections.items() if key in cls.model_fields]
        if not owners:
            names = sorted(f for cls in sections.values() for f in cls.model_fields)
            hint = did_you_mean(key, names)
            raise ConfigError(f"unknown config key '{key}' (known keys: {', '.join(names)}){hint}")
        routed[owners[0]][key] = value
    return routed

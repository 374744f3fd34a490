"""A sweep's search space: a typed YAML/JSON file, validated before any trial runs.

::

    params:
      lr:         {type: float, low: 1.0e-4, high: 1.0e-2, log: true}
      latent_dim: {type: int, low: 4, high: 32, step: 4}
      beta:       {type: categorical, choices: [0.5, 1.0, 2.0]}
      kl_warmup:  {type: int, low: 0, high: 100, when: {beta: 2.0}}   # only sampled when beta is 2.0

Each name is a config key of the family or the trainer (what ``--set`` takes); the file is checked for
shape (pydantic), for ranges (empty or inverted, a log scale reaching 0), for conditions that name an
earlier parameter and one of its values, and every bound and choice is passed through the family's own
config validation, so a key the family does not have, or a value it refuses, is one line before
anything is trained. :meth:`SearchSpace.suggest` asks an Optuna trial for one configuration
(define-by-run, so conditional parameters are simply not asked when their condition fails).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from genforge.core.errors import ConfigError
from genforge.pipelines.training import resolve_configs

MAX_SPACE_BYTES = 1_000_000
MAX_PARAMS = 64
MAX_GRID = 100_000
Scalar = bool | int | float | str


class _Param(BaseModel):
    model_config = ConfigDict(extra="forbid")
    when: dict[str, Scalar] | None = Field(
        None, description="sample only when these earlier params have these values"
    )


class FloatParam(_Param):
    type: Literal["float"]
    low: float
    high: float
    log: bool = False
    step: float | None = None

    @model_validator(mode="after")
    def _check(self) -> FloatParam:
        _check_range(self.low, self.high, self.log)
        if self.step is not None and (self.step <= 0 or self.log):
            raise ValueError("step must be positive and cannot be combined with log")
        return self

    def suggest(self, trial: Any, name: str) -> float:
        return trial.suggest_float(name, self.low, self.high, log=self.log, step=self.step)

    def examples(self) -> list[Scalar]:
        return [self.low, self.high]


class IntParam(_Param):
    type: Literal["int"]
    low: int
    high: int
    log: bool = False
    step: int = 1

    @model_validator(mode="after")
    def _check(self) -> IntParam:
        _check_range(self.low, self.high, self.log)
        if self.step < 1 or (self.log and self.step != 1):
            raise ValueError("step must be >= 1, and 1 with log")
        return self

    def suggest(self, trial: Any, name: str) -> int:
        return trial.suggest_int(name, self.low, self.high, log=self.log, step=self.step)

    def examples(self) -> list[Scalar]:
        return [self.low, self.high]


class CategoricalParam(_Param):
    type: Literal["categorical"]
    choices: list[Scalar] = Field(min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _check(self) -> CategoricalParam:
        if len({json.dumps(c) for c in self.choices}) != len(self.choices):
            raise ValueError("choices repeat a value")
        return self

    def suggest(self, trial: Any, name: str) -> Scalar:
        return trial.suggest_categorical(name, self.choices)

    def examples(self) -> list[Scalar]:
        return list(self.choices)


Param = Annotated[FloatParam | IntParam | CategoricalParam, Field(discriminator="type")]


def _check_range(low: float, high: float, log: bool) -> None:
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError("low and high must be finite numbers")
    if low >= high:
        raise ValueError(f"the range is empty or inverted (low {low} >= high {high})")
    if log and low <= 0:
        raise ValueError(f"a log scale needs low > 0, got {low}")


class SearchSpace(BaseModel):
    """Parameters in the order they are sampled (a condition can only name an earlier one)."""

    model_config = ConfigDict(extra="forbid")
    params: dict[str, Param] = Field(min_length=1, max_length=MAX_PARAMS)

    @model_validator(mode="after")
    def _check_conditions(self) -> SearchSpace:
        seen: dict[str, Any] = {}
        for name, param in self.params.items():
            for parent, value in (param.when or {}).items():
                if parent not in seen:
                    raise ValueError(
                        f"'{name}' depends on '{parent}', which is not a parameter defined before it"
                    )
                if value not in seen[parent].examples() or isinstance(seen[parent], FloatParam):
                    raise ValueError(f"'{name}' depends on {parent} = {value!r}, which {parent} never takes")
            seen[name] = param
        return self

    def suggest(self, trial: Any) -> dict[str, Scalar]:
        """One configuration from an Optuna trial; parameters whose condition fails are left out."""
        values: dict[str, Scalar] = {}
        for name, param in self.params.items():
            if all(values.get(parent) == value for parent, value in (param.when or {}).items()):
                values[name] = param.suggest(trial, name)
        return values

    def grid(self) -> dict[str, list[Scalar]]:
        """Every value of every parameter, for Optuna's grid sampler: choices, an int range by its step,
        a float range by its ``step``; a float without a step or a conditional parameter is refused."""
        values: dict[str, list[Scalar]] = {}
        for name, param in self.params.items():
            if param.when:
                raise ConfigError(f"the grid sampler cannot sweep the conditional parameter '{name}'")
            if isinstance(param, CategoricalParam):
                values[name] = list(param.choices)
            elif isinstance(param, IntParam):
                values[name] = list(range(param.low, param.high + 1, param.step))
            elif param.step is None:
                raise ConfigError(f"the grid sampler needs a step for the float parameter '{name}'")
            else:
                count = int(math.floor((param.high - param.low) / param.step + 1e-9)) + 1
                values[name] = [round(param.low + k * param.step, 12) for k in range(count)]
        size = math.prod(len(v) for v in values.values())
        if size > MAX_GRID:
            raise ConfigError(f"the grid has {size} points, more than {MAX_GRID}: use larger steps")
        return values

    def check_against(self, family: str, fixed: dict[str, Any]) -> None:
        """Every bound and choice goes through ``family``'s config validation (unknown key, bad value)."""
        for name, param in self.params.items():
            if name in fixed:
                raise ConfigError(f"'{name}' is both swept and fixed with --set: keep one")
            for value in param.examples():
                try:
                    resolve_configs(family, {**fixed, name: value}, max_steps=1)
                except ConfigError as exc:
                    raise ConfigError(f"search space parameter '{name}' = {value!r}: {exc}") from None

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def parse_space(data: Any, where: str = "search space") -> SearchSpace:
    """A :class:`SearchSpace` from parsed YAML/JSON; the first problem is one line naming the field."""
    try:
        return SearchSpace.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        place = ".".join(str(p) for p in first["loc"] if not str(p).startswith(("function-", "float", "int")))
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{where}: {place or 'file'}: {message}") from None


def load_space(path: str | Path) -> SearchSpace:
    """Read and validate a search-space file (YAML or JSON, at most 1 MB)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"search space file {path} does not exist")
    if path.stat().st_size > MAX_SPACE_BYTES:
        raise ConfigError(f"search space file {path} is larger than {MAX_SPACE_BYTES} bytes")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"search space file {path} is not valid YAML/JSON: {str(exc).splitlines()[0]}"
        ) from None
    return parse_space(data, where=str(path))

"""Rule rewards for RL-tuning a text generator: a small YAML schema of keyword, regex and length rules.

::

    rules:
      - {type: keyword, words: [police, government], weight: 1.0, cap: 2}
      - {type: regex, pattern: "\\d+", weight: -0.5}
      - {type: length, min_chars: 20, max_chars: 200, weight: 0.2}

The reward of a text is ``sum(weight * score)``: a keyword or regex rule scores
``min(matches, cap) / cap`` (``cap`` 1 is presence), a length rule scores 1 when the text's length lies in
``[min_chars, max_chars]`` and 0 otherwise. Every rule is validated by its own pydantic model, so a
misspelt key, a pattern that does not compile or an empty word list is one line naming the file and the
rule. A reward is any callable ``texts -> list[float]``; the guard and classifier rewards, which need
layers above this one, are built in :mod:`genforge.pipelines.rltune`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, TypeAdapter, ValidationError, field_validator

from genforge.core.config import Config, describe_validation_error
from genforge.core.errors import ConfigError

RewardFn = Callable[[Sequence[str]], list[float]]


class KeywordRule(Config):
    type: Literal["keyword"] = Field(description="count occurrences of any of the words")
    words: list[str] = Field(min_length=1, description="words counted (whole words)")
    case_sensitive: bool = Field(False, description="match case exactly")
    weight: float = Field(1.0, description="reward per unit score")
    cap: int = Field(1, ge=1, le=1000, description="matches that give the full score (1 = presence)")

    @field_validator("words")
    @classmethod
    def _no_empty_word(cls, words: list[str]) -> list[str]:
        if any(not w.strip() for w in words):
            raise ValueError("a word is empty")
        return words

    def pattern(self) -> re.Pattern[str]:
        alternatives = "|".join(re.escape(w) for w in self.words)
        return re.compile(rf"\b(?:{alternatives})\b", 0 if self.case_sensitive else re.IGNORECASE)


class RegexRule(Config):
    type: Literal["regex"] = Field(description="count matches of a regular expression")
    pattern: str = Field(min_length=1, description="Python regular expression")
    weight: float = Field(1.0, description="reward per unit score")
    cap: int = Field(1, ge=1, le=1000, description="matches that give the full score (1 = presence)")

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"the pattern does not compile ({exc})") from None
        return pattern


class LengthRule(Config):
    type: Literal["length"] = Field(description="score 1 when the text's length is in range")
    min_chars: int = Field(0, ge=0, description="shortest rewarded length in characters")
    max_chars: int = Field(10_000, ge=0, description="longest rewarded length in characters")
    weight: float = Field(1.0, description="reward when in range")


Rule = Annotated[KeywordRule | RegexRule | LengthRule, Field(discriminator="type")]


class RuleFile(Config):
    rules: list[Rule] = Field(min_length=1, description="the rules whose weighted scores are summed")


_RULE_FILE = TypeAdapter(RuleFile)


class RuleReward:
    """``reward(texts)`` of a validated :class:`RuleFile`; :func:`load_rule_reward` reads one."""

    def __init__(self, rules: RuleFile, name: str = "rules") -> None:
        self.rules = rules
        self.name = name
        self._patterns = [
            rule.pattern() if isinstance(rule, KeywordRule) else re.compile(rule.pattern)
            for rule in rules.rules
            if not isinstance(rule, LengthRule)
        ]

    def score(self, text: str) -> float:
        total = 0.0
        patterns = iter(self._patterns)
        for rule in self.rules.rules:
            if isinstance(rule, LengthRule):
                total += rule.weight * float(rule.min_chars <= len(text) <= rule.max_chars)
                continue
            matches = sum(1 for _ in next(patterns).finditer(text))
            total += rule.weight * min(matches, rule.cap) / rule.cap
        return total

    def __call__(self, texts: Sequence[str]) -> list[float]:
        return [self.score(t) for t in texts]


def parse_rules(data: object, where: str) -> RuleReward:
    """A :class:`RuleReward` from parsed YAML/JSON ``data``; a bad rule is one line naming ``where``."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping with a 'rules' list, got {type(data).__name__}")
    try:
        rules = _RULE_FILE.validate_python(data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, where, RuleFile.model_fields)) from None
    for index, rule in enumerate(rules.rules):
        if isinstance(rule, LengthRule) and rule.min_chars > rule.max_chars:
            raise ConfigError(
                f"{where}: rule {index} has min_chars {rule.min_chars} > max_chars {rule.max_chars}"
            )
    return RuleReward(rules, name=where)


def load_rule_reward(path: str | Path) -> RuleReward:
    """Read and validate a rule file (YAML or JSON)."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"reward rule file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"reward rule file {path} does not parse: {first}") from None
    return parse_rules(data, str(path))


def checked_rewards(values: Sequence[float], what: str) -> list[float]:
    """``values`` as floats, refused with one line when one is NaN or infinite."""
    out = [float(v) for v in values]
    bad = [v for v in out if not math.isfinite(v)]
    if bad:
        raise ConfigError(f"the reward {what} returned {bad[0]} (not a finite number): fix the reward")
    return out

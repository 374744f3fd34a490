"""Size limits: very long inputs cost latency and are a common carrier for injections and context flooding."""

from __future__ import annotations

from pydantic import Field

from genforge.guard.base import Finding, Rail, RailConfig, RailContext, register_rail


class SizeConfig(RailConfig):
    rail: str = Field("size_limit", description="registered rail name")
    threshold: float = Field(1.0, ge=0.0, le=1.0, description="fires at 1.0, i.e. when a limit is exceeded")
    max_chars: int = Field(8000, ge=1, description="maximum characters")
    max_words: int = Field(1500, ge=1, description="maximum whitespace-separated words")
    max_lines: int = Field(400, ge=1, description="maximum lines")


@register_rail("size_limit")
class SizeLimitRail(Rail):
    """Fires when the text exceeds any of the character, word or line limits (score = largest used fraction)."""

    config_class = SizeConfig
    ends_stage = True

    def score(self, text: str, context: RailContext) -> tuple[float, list[Finding], str]:
        c = self.config
        if len(text) > c.max_chars:  # decided without reading the rest: constant time for any length
            finding = Finding("size", 0, len(text), 1.0, f"chars over limit {c.max_chars}")
            return 1.0, [finding], f"text too long: chars exceed {c.max_chars}"
        return self._score_within(text)

    def _score_within(self, text: str) -> tuple[float, list[Finding], str]:

        c = self.config
        used = {
            "chars": len(text) / c.max_chars,
            "words": len(text.split()) / c.max_words,
            "lines": (text.count("\n") + 1) / c.max_lines,
        }
        worst = max(used, key=used.get)
        fraction = used[worst]
        if fraction <= 1.0:
            return min(fraction, 0.999), [], ""
        limit = {"chars": c.max_chars, "words": c.max_words, "lines": c.max_lines}[worst]
        finding = Finding("size", 0, len(text), 1.0, f"{worst} over limit {limit}")
        return 1.0, [finding], f"text too long: {worst} exceed {limit}"

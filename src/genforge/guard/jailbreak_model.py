"""The learned rail: :mod:`genforge.guard.detector` as one more rail of a policy, beside the cue rails.

Its verdict names the window of the text that scored worst and the n-grams and cues that pushed the score up,
so a block still says why. It runs after the cue rails and is skipped once one of them has blocked the text,
which keeps texts the cues already decide as fast as before.
"""

from __future__ import annotations

from pydantic import Field

from genforge.guard.base import Action, Finding, Rail, RailConfig, RailContext, register_rail
from genforge.guard.detector import load_model


class JailbreakModelConfig(RailConfig):
    rail: str = Field("jailbreak_model", description="registered rail name")
    action: Action = Field("block", description="what a firing rail does: block, redact or flag")
    threshold: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="attack probability that fires (default: the model's calibrated one)",
    )
    model: str | None = Field(
        None, description="folder of a model from 'guard train' (default: the packaged one)"
    )
    explain: int = Field(5, ge=0, le=50, description="how many top n-grams/cues the verdict names")


@register_rail("jailbreak_model")
class JailbreakModelRail(Rail):
    """Learned injection/jailbreak detector (hashed n-grams + cue indicators, logistic head, worst window)."""

    config_class = JailbreakModelConfig
    stages = ("input", "context")
    skip_when_blocked = True

    def __init__(self, config: JailbreakModelConfig) -> None:
        self.model = load_model(config.model)
        if config.threshold is None:
            config = config.model_copy(update={"threshold": self.model.threshold})
        super().__init__(config)

    def score(self, text: str, context: RailContext) -> tuple[float, list[Finding], str]:
        if not text.strip():
            return 0.0, [], ""
        probability, (start, end) = self.model.score(text)
        if probability < self.config.threshold:
            return probability, [], ""
        window = text[start:end]
        kinds = ", ".join(f"{name} ({similarity})" for name, similarity in self.model.resembles(window))
        reasons = ", ".join(self.model.top_features(window, self.config.explain))
        detail = f"resembles {kinds}; top features {reasons}" if kinds else f"top features {reasons}"
        finding = Finding("learned_attack", start, end, probability, detail)
        return probability, [finding], f"learned detector: window {start}-{end}; {detail}"

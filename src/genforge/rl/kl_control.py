"""The adaptive KL coefficient of RL-tuning: a proportional controller on the measured KL.

Ziegler et al. 2019 ("Fine-Tuning Language Models from Human Preferences", section 2.2), after the
adaptive-penalty variant of PPO (Schulman et al. 2017, section 4): after each update whose ``n`` samples
had a mean sequence KL of ``KL``,

    e = clip(KL / target - 1, -0.2, 0.2)
    beta <- beta * (1 + e * n / horizon)

so beta grows while the policy drifts past ``target`` nats per sequence and shrinks while it stays below.
The clip bounds the change per update: with ``n / horizon = 1/10`` beta moves at most 2 % per update.
"""

from __future__ import annotations

ERROR_CLIP = 0.2


def adaptive_kl_coef(coef: float, kl: float, target: float, samples: int, horizon: float) -> float:
    """The coefficient after one update: ``coef * (1 + clip(kl / target - 1, -0.2, 0.2) * samples / horizon)``."""
    error = min(max(kl / target - 1.0, -ERROR_CLIP), ERROR_CLIP)
    return coef * (1.0 + error * samples / horizon)

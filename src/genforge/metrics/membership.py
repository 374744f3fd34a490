"""How well an attacker's scores tell a model's training members from non-members.

Input: one score per known member and per known non-member (higher = "more likely a member", e.g. the
negative loss, Yeom et al. 2018). Output: the ROC AUC, the attacker's best balanced advantage
(max TPR - FPR), and the true-positive rate at low false-positive rates (0.1 % and 1 %), which Carlini et
al. (2022) argue is the figure that matters: an attack that is right about a few records with certainty
is a privacy failure even at AUC 0.5. The ROC comes from scikit-learn's ``roc_curve``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from genforge.core.errors import DataError

LOW_FPRS = (0.001, 0.01)


def membership_advantage(
    member_scores: Sequence[float], nonmember_scores: Sequence[float], low_fprs: Sequence[float] = LOW_FPRS
) -> dict[str, Any]:
    """AUC, advantage and TPR at each of ``low_fprs`` (the largest TPR whose FPR does not exceed it)."""
    from sklearn.metrics import roc_auc_score, roc_curve

    members = np.asarray(member_scores, dtype=np.float64)
    others = np.asarray(nonmember_scores, dtype=np.float64)
    if len(members) == 0 or len(others) == 0:
        raise DataError(
            f"a membership attack needs members and non-members (got {len(members)} and {len(others)})"
        )
    if not (np.isfinite(members).all() and np.isfinite(others).all()):
        raise DataError("membership scores contain NaN or infinite values")
    truth = np.concatenate([np.ones(len(members)), np.zeros(len(others))])
    scores = np.concatenate([members, others])
    fpr, tpr, _ = roc_curve(truth, scores)
    result: dict[str, Any] = {
        "auc": float(roc_auc_score(truth, scores)),
        "advantage": float(np.max(tpr - fpr)),
        "members": len(members),
        "nonmembers": len(others),
    }
    for level in low_fprs:
        result[f"tpr_at_fpr_{level:g}"] = float(tpr[fpr <= level].max())
    result["roc"] = {
        "fpr": fpr[:: max(len(fpr) // 200, 1)].tolist(),
        "tpr": tpr[:: max(len(tpr) // 200, 1)].tolist(),
    }
    return result

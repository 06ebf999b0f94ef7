"""The promotion gate: a candidate replaces the live centroids only if it is not worse."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class GateResult:
    accepted: bool
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "reasons": self.reasons}


def promotion_gate(
    candidate: dict[str, Any],
    live: dict[str, Any],
    *,
    max_recall_drop: float,
    min_macro_f1_gain: float = 0.0,
) -> GateResult:
    """Compare two evaluation reports on the same held-out rows.

    Refuses when macro-F1 drops (or does not gain ``min_macro_f1_gain``), or when any task's
    recall drops by more than ``max_recall_drop``.
    """
    reasons: list[str] = []
    c_f1, l_f1 = candidate["macro_f1"], live["macro_f1"]
    if c_f1 < l_f1 + min_macro_f1_gain:
        reasons.append(f"macro-F1 {c_f1:.4f} < live {l_f1:.4f}")
    for task, stats in live["per_task"].items():
        if stats["support"] == 0:
            continue
        mine = candidate["per_task"].get(task, {"recall": 0.0})["recall"]
        if stats["recall"] - mine > max_recall_drop:
            reasons.append(
                f"{task} recall {mine:.4f} < live {stats['recall']:.4f} - {max_recall_drop}"
            )
    return GateResult(accepted=not reasons, reasons=reasons)

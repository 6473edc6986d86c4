"""The activation gate: may a newly trained model replace the active one?

A pure function of the two evaluations (as written by tools/evaluate_model.py: ``macro_f1``, ``per_intent``
with ``f1`` per intent, ``testset_fingerprint``). The new model passes when its macro-F1 is not below the
active model's by more than ``tolerance`` and no intent's F1 drops by more than ``intent_drop``. An admin
may override a blocked gate with a written reason (bot/ops/registry.py audits it); this module only decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Differences this small are rounding, not a regression (F1 values are fractions of small counts).
EPSILON = 1e-9


@dataclass(frozen=True)
class GateResult:
    allowed: bool
    reasons: tuple[str, ...] = ()
    macro_f1_delta: float | None = None
    # intent → F1 drop (active − new), only the intents that dropped by more than the allowed amount
    intent_drops: dict[str, float] = field(default_factory=dict)

    @property
    def summary(self) -> str:
        return " ".join(self.reasons) if self.reasons else "Freigabe möglich."


def _f1_by_intent(metrics: Mapping[str, Any]) -> dict[str, float]:
    return {name: float(values.get("f1", 0.0)) for name, values in (metrics.get("per_intent") or {}).items()}


def check(candidate: Mapping[str, Any] | None, active: Mapping[str, Any] | None, *, tolerance: float = 0.01,
          intent_drop: float = 0.10) -> GateResult:
    """Decide whether ``candidate`` may replace ``active`` (both: evaluation results or None)."""
    if not candidate or candidate.get("macro_f1") is None:
        return GateResult(False, ("Das neue Modell ist noch nicht bewertet.",))
    if not active or active.get("macro_f1") is None:
        return GateResult(True, ("Es gibt kein bewertetes aktives Modell zum Vergleich.",))
    given, current = candidate.get("testset_fingerprint"), active.get("testset_fingerprint")
    if given and current and given != current:
        return GateResult(False, ("Die Modelle wurden nicht auf demselben Testset bewertet; bitte erneut bewerten.",))

    reasons: list[str] = []
    delta = float(candidate["macro_f1"]) - float(active["macro_f1"])
    allowed = True
    if -delta > tolerance + EPSILON:
        allowed = False
        reasons.append(f"Makro-F1 sinkt um {-delta:.3f} (erlaubt: {tolerance:.3f}).")
    new_f1 = _f1_by_intent(candidate)
    drops: dict[str, float] = {}
    for intent, old in sorted(_f1_by_intent(active).items()):
        drop = old - new_f1.get(intent, 0.0)
        if drop > intent_drop + EPSILON:
            drops[intent] = round(drop, 4)
    if drops:
        allowed = False
        listed = ", ".join(f"{name} (−{drop:.2f})" for name, drop in drops.items())
        reasons.append(f"F1 einzelner Intents sinkt um mehr als {intent_drop:.2f}: {listed}.")
    return GateResult(allowed, tuple(reasons), round(delta, 4), drops)

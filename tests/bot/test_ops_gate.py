"""The activation gate (bot/ops/gate.py): macro-F1 tolerance, largest allowed intent-F1 drop, missing or
incomparable evaluations."""

from __future__ import annotations

from typing import Any

import pytest

from bot.ops.gate import check


def metrics(macro: float, testset: str = "abc", **f1: float) -> dict[str, Any]:
    return {"macro_f1": macro, "testset_fingerprint": testset,
            "per_intent": {name: {"precision": v, "recall": v, "f1": v, "support": 10} for name, v in f1.items()}}


ACTIVE = metrics(0.90, greet=0.95, short_time_work=0.90, tax_deferral=0.85)


def test_better_model_passes() -> None:
    result = check(metrics(0.93, greet=0.96, short_time_work=0.92, tax_deferral=0.90), ACTIVE)
    assert result.allowed
    assert result.reasons == ()
    assert result.macro_f1_delta == pytest.approx(0.03)
    assert result.intent_drops == {}


@pytest.mark.parametrize(("macro", "allowed"), [(0.89, True), (0.8899, False), (0.85, False), (0.90, True)])
def test_macro_f1_tolerance_default(macro: float, allowed: bool) -> None:
    result = check(metrics(macro, greet=0.95, short_time_work=0.90, tax_deferral=0.85), ACTIVE)
    assert result.allowed is allowed
    if not allowed:
        assert "Makro-F1 sinkt" in result.summary


def test_tolerance_is_configurable() -> None:
    candidate = metrics(0.87, greet=0.95, short_time_work=0.90, tax_deferral=0.85)
    assert not check(candidate, ACTIVE).allowed
    assert check(candidate, ACTIVE, tolerance=0.05).allowed


def test_one_intent_dropping_more_than_allowed_blocks_even_with_better_macro_f1() -> None:
    candidate = metrics(0.95, greet=1.0, short_time_work=0.79, tax_deferral=1.0)
    result = check(candidate, ACTIVE)
    assert not result.allowed
    assert set(result.intent_drops) == {"short_time_work"}
    assert result.intent_drops["short_time_work"] == pytest.approx(0.11)
    assert "short_time_work" in result.summary


def test_drop_of_exactly_the_limit_passes_and_limit_is_configurable() -> None:
    candidate = metrics(0.90, greet=0.95, short_time_work=0.80, tax_deferral=0.85)
    assert check(candidate, ACTIVE).allowed  # 0.10 is allowed, only more is not
    assert not check(candidate, ACTIVE, intent_drop=0.05).allowed


def test_intent_missing_in_the_new_evaluation_counts_as_f1_zero() -> None:
    candidate = metrics(0.95, greet=0.95, short_time_work=0.95)
    result = check(candidate, ACTIVE)
    assert not result.allowed
    assert "tax_deferral" in result.intent_drops


def test_new_intent_does_not_block() -> None:
    candidate = metrics(0.91, greet=0.95, short_time_work=0.90, tax_deferral=0.85, new_topic=0.2)
    assert check(candidate, ACTIVE).allowed


def test_both_reasons_are_given() -> None:
    result = check(metrics(0.5, greet=0.1, short_time_work=0.9, tax_deferral=0.85), ACTIVE)
    assert not result.allowed
    assert len(result.reasons) == 2


def test_unevaluated_candidate_is_blocked() -> None:
    assert not check(None, ACTIVE).allowed
    assert not check({}, ACTIVE).allowed
    assert "nicht bewertet" in check(None, ACTIVE).summary


def test_no_evaluated_active_model_lets_the_first_model_through() -> None:
    assert check(metrics(0.5), None).allowed
    assert check(metrics(0.5), {}).allowed


def test_evaluations_on_different_test_sets_are_not_compared() -> None:
    result = check(metrics(0.99, testset="new", greet=1.0, short_time_work=1.0, tax_deferral=1.0), ACTIVE)
    assert not result.allowed
    assert "Testset" in result.summary

"""Quality gate: the trained model on the held-out test set (never trained on).

Goal macro-F1 >= 0.92 (measured by benchmarks/nlu_eval.py); this gate at 0.85 keeps it from sliding back.
"""

from __future__ import annotations

import pytest

from benchmarks import nlu_eval
from tests.support.stack import skip_or_fail
from tools import stack

pytestmark = pytest.mark.slow

GATE_MACRO_F1 = 0.85
#: Floor on the real-question development set (tests/nlu/realworld.yml): measured 0.915 on 2026-12-08
#: (0.862 before the training data written against its errors); goal of issue 11: 0.93.
GATE_REALWORLD_MACRO_F1 = 0.88


@pytest.fixture(scope="module")
def report() -> nlu_eval.Report:
    model = stack.latest_model()
    if model is None:
        skip_or_fail("no trained model (run `make train`)")
    return nlu_eval.evaluate(model)


def test_macro_f1_stays_above_the_gate(report: nlu_eval.Report) -> None:
    assert report.n >= 30 * 8
    assert report.macro_f1 >= GATE_MACRO_F1, nlu_eval.print_report(report)


@pytest.mark.parametrize("intent", ["insolvency_restructuring", "cyber_incident", "energy_costs",
                                    "document_management"])
def test_the_crisis_topics_added_in_december_2026_are_recognised(report: nlu_eval.Report, intent: str) -> None:
    # Goal 0.85 (issue 10); measured 0.80-0.86 on 10 test messages each (one error moves F1 by ~0.05).
    # This floor keeps the new topics from sliding back while the NLU work of issue 11 continues.
    assert report.per_intent[intent]["f1"] >= 0.75, nlu_eval.print_report(report)


def test_real_questions_stay_above_their_floor() -> None:
    model = stack.latest_model()
    if model is None:
        skip_or_fail("no trained model (run `make train`)")
    real = nlu_eval.evaluate(model, stack.ROOT / "tests" / "nlu" / "realworld.yml")
    assert real.n >= 300
    assert real.macro_f1 >= GATE_REALWORLD_MACRO_F1, nlu_eval.print_report(real)


def test_every_intent_is_recognised_at_least_half_the_time(report: nlu_eval.Report) -> None:
    weak = {name: m["recall"] for name, m in report.per_intent.items() if m["recall"] < 0.5}
    assert not weak, f"intents the model mostly misses: {weak}"


def test_testset_is_not_in_the_training_data() -> None:
    from rasa.shared.importers.importer import TrainingDataImporter

    importer = TrainingDataImporter.load_from_config(
        str(stack.ROOT / "config.yml"), str(stack.ROOT / "domain.yml"), [str(stack.ROOT / "data")]
    )
    trained = {ex.get("text").strip().lower() for ex in importer.get_nlu_data().intent_examples}
    tested = [text.strip().lower() for text, _ in nlu_eval.load_testset(stack.ROOT / "tests/nlu/testset.yml")]
    leaked = [t for t in tested if t in trained]
    assert not leaked, f"test messages also in the training data: {leaked}"

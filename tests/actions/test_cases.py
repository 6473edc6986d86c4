"""actions/cases.py: case numbers and the case body of docs/escalation-contract.md."""

from __future__ import annotations

import json
from typing import Any

import pytest

from actions.cases import (
    CASE_ALPHABET,
    CASE_NUMBER,
    case_from_slots,
    contact_channel,
    is_case_number,
    new_case_number,
)
from actions.directory import load_directory
from actions.routing import load_routing
from tests.actions.conftest import OPEN_TIME

CONTRACT_KEYS = {
    "case_number", "session_id", "unit", "secondary_units", "topic", "priority", "trigger", "urgent_signals",
    "contact", "description", "expected_response_by", "created_at",
}  # fmt: skip
CONTACT_KEYS = {"name", "company", "email", "phone", "preferred_channel", "consent"}


def test_case_number_format() -> None:
    for _ in range(200):
        number = new_case_number()
        assert CASE_NUMBER.fullmatch(number), number
        assert is_case_number(number)
        assert len(number) == len("KL-7H3K-Q9PX")
        assert not set(number[3:].replace("-", "")) & set("01OI")


def test_case_numbers_are_unique_and_use_the_whole_alphabet() -> None:
    numbers = {new_case_number() for _ in range(5000)}
    assert len(numbers) == 5000
    used = {ch for n in numbers for ch in n[3:] if ch != "-"}
    assert used == set(CASE_ALPHABET)
    assert len(CASE_ALPHABET) == 32 and not set(CASE_ALPHABET) & set("01OI")


@pytest.mark.parametrize("value", ["KL-7H3K-Q9P0", "KL-7H3KQ9PX", "kl-7h3k-q9px", "KL-7H3K-Q9PXX", None, 42])
def test_not_case_numbers(value: Any) -> None:
    assert not is_case_number(value)


def build(slots: dict[str, Any]) -> dict[str, Any]:
    base = {
        "contact_email": "anna@mueller-bau.de",
        "contact_consent": True,
        "case_description": "Hilfe bitte, dringend",
    }
    return case_from_slots(
        {**base, **slots},
        case_number="KL-7H3K-Q9PX",
        session_id="widget-session-1",
        at=OPEN_TIME,
        directory=load_directory(),
        routing=load_routing(),
    )


def test_case_has_exactly_the_contract_fields() -> None:
    case = build({"contact_name": "Anna Schmidt", "contact_company": "Müller Bau GmbH"})
    assert set(case) == CONTRACT_KEYS
    assert set(case["contact"]) == CONTACT_KEYS
    assert case["case_number"] == "KL-7H3K-Q9PX"
    assert case["session_id"] == "widget-session-1"
    assert case["contact"] == {
        "name": "Anna Schmidt",
        "company": "Müller Bau GmbH",
        "email": "anna@mueller-bau.de",
        "phone": None,
        "preferred_channel": "email",
        "consent": True,
    }
    assert case["created_at"] == "2026-11-24T10:00:00+01:00"
    assert case["expected_response_by"] == "2026-11-25T11:00:00+01:00"
    json.dumps(case)  # plain JSON


def test_unit_follows_the_current_topic_and_company_details() -> None:
    case = build({"current_topic": "emergency_aid", "industry": "handwerk"})
    assert (case["unit"], case["secondary_units"], case["topic"]) == (
        "chamber_of_crafts",
        ["business_development"],
        "emergency_aid",
    )


def test_without_topic_the_case_goes_to_business_development() -> None:
    case = build({})
    assert (case["unit"], case["secondary_units"], case["topic"]) == ("business_development", [], None)
    assert (case["priority"], case["trigger"], case["urgent_signals"]) == ("normal", "human_handoff", [])


@pytest.mark.parametrize(
    ("slots", "priority", "trigger", "signals"),
    [
        (
            {"case_priority": "high", "case_trigger": "urgent", "urgent_signals": ["wages"]},
            "high",
            "urgent",
            ["wages"],
        ),
        ({"urgent_signals": ["ruin", "insolvency"]}, "high", "human_handoff", ["insolvency", "ruin"]),
        ({"case_trigger": "misunderstanding"}, "normal", "misunderstanding", []),
        ({"case_trigger": "feedback"}, "normal", "feedback", []),
        ({"case_trigger": "something else"}, "normal", "human_handoff", []),
    ],
)
def test_priority_and_trigger(slots: dict[str, Any], priority: str, trigger: str, signals: list[str]) -> None:
    case = build(slots)
    assert (case["priority"], case["trigger"], case["urgent_signals"]) == (priority, trigger, signals)


@pytest.mark.parametrize(
    ("slots", "channel"),
    [
        ({"contact_email": "a@b.de", "contact_phone": None}, "email"),
        ({"contact_email": None, "contact_phone": "+49621123456"}, "phone"),
        ({"contact_email": "a@b.de", "contact_phone": "+49621123456"}, "any"),
        ({"contact_email": "a@b.de", "contact_phone": "+49621123456", "preferred_channel": "phone"}, "phone"),
    ],
)
def test_contact_channel(slots: dict[str, Any], channel: str) -> None:
    assert contact_channel(slots) == channel

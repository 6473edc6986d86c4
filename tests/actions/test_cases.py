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
    receiving_unit,
)
from actions.directory import Directory, load_directory
from actions.routing import ROUTING_FILE, RoutingTable, load_routing
from tests.actions.conftest import OPEN_TIME
from tests.actions.synthetic import WIFOE_HOURS, write_contacts

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


@pytest.fixture(autouse=True, scope="module")
def knowledge(tmp_path_factory: pytest.TempPathFactory) -> tuple[Directory, RoutingTable]:
    """Synthetic contacts (the Wirtschaftsförderung with sourced hours), the real routing table."""
    contacts = write_contacts(
        tmp_path_factory.mktemp("cases") / "contacts.yml",
        {"business_development": {"opening_hours": WIFOE_HOURS}},
    )
    KNOWLEDGE[:] = [load_directory(contacts), load_routing(ROUTING_FILE, contacts)]
    return KNOWLEDGE[0], KNOWLEDGE[1]


KNOWLEDGE: list[Any] = []


def build(slots: dict[str, Any]) -> dict[str, Any]:
    base = {
        "contact_email": "anna@mueller-bau.de",
        "contact_consent": True,
        "case_description": "Hilfe bitte, dringend",
    }
    directory, routing = KNOWLEDGE
    return case_from_slots(
        {**base, **slots},
        case_number="KL-7H3K-Q9PX",
        session_id="widget-session-1",
        at=OPEN_TIME,
        directory=directory,
        routing=routing,
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
    assert case["created_at"] == "2026-12-15T10:00:00+01:00"
    assert case["expected_response_by"] == "2026-12-16T11:00:00+01:00"  # Tue 10:00 + 8 h of WIFOE_HOURS
    json.dumps(case)  # plain JSON


def test_unit_follows_the_current_topic_and_company_details() -> None:
    case = build({"current_topic": "e_invoicing"})
    assert (case["unit"], case["secondary_units"], case["topic"]) == (
        "accounts_payable",
        ["digital_office"],
        "e_invoicing",
    )
    case = build({"current_topic": "tax_relief", "tax_type": "grundsteuer"})
    assert (case["unit"], case["secondary_units"]) == ("tax_office", ["business_development"])


@pytest.mark.parametrize(
    ("slots", "secondary"),
    [
        ({"current_topic": "emergency_aid", "industry": "handwerk"}, ["chamber_of_crafts"]),
        ({"current_topic": "emergency_aid"}, ["chamber_of_commerce"]),
        ({"current_topic": "short_time_work_allowance"}, ["employment_agency"]),
        ({"current_topic": "tax_relief", "tax_type": "umsatzsteuer"}, ["state_tax_office"]),
        (
            {"current_topic": "cyber_incident"},
            ["police_cybercrime", "cyber_first_aid", "data_protection_authority"],
        ),
    ],
)
def test_cases_of_outside_bodies_go_to_the_default_unit_which_forwards_them(
    slots: dict[str, Any], secondary: list[str]
) -> None:
    case = build(slots)
    # the Wirtschaftsförderung receives the case; the outside body comes first among the other units
    assert (case["unit"], case["secondary_units"], case["topic"]) == (
        "business_development",
        secondary,
        slots["current_topic"],
    )
    # the deadline in the staff console is the Wirtschaftsförderung's own (it forwards the case); the user
    # is promised no date on the outside body's behalf (test_escalation_actions.py)
    assert case["expected_response_by"] == "2026-12-16T11:00:00+01:00"


def test_city_office_without_sourced_hours_gets_no_deadline() -> None:
    case = build({"current_topic": "data_protection"})  # synthetic data_protection_officer: no hours
    assert (case["unit"], case["expected_response_by"]) == ("data_protection_officer", None)


def test_receiving_unit() -> None:
    directory, routing = KNOWLEDGE
    assert receiving_unit(directory, routing, "tax_office").id == "tax_office"
    for outside in ("chamber_of_crafts", "state_tax_office", "police_cybercrime", "employment_agency"):
        assert (
            receiving_unit(directory, routing, outside).id == routing.default_unit == "business_development"
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

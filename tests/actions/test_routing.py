from __future__ import annotations

from pathlib import Path

import pytest

from actions.directory import load_directory
from actions.intents import TOPICAL_INTENTS
from actions.routing import Route, load_routing, parse_employees, route

# intent -> (primary, secondary) without details, and for a Handwerksbetrieb
EXPECTED: dict[str, tuple[tuple[str, tuple[str, ...]], tuple[str, tuple[str, ...]]]] = {
    "short_time_work_eligibility": (("employment_agency", ()), ("employment_agency", ())),
    "short_time_work_application": (("employment_agency", ()), ("employment_agency", ())),
    "short_time_work_allowance": (("employment_agency", ()), ("employment_agency", ())),
    "emergency_aid": (
        ("chamber_of_commerce", ("business_development",)),
        ("chamber_of_crafts", ("business_development",)),
    ),
    "loans_liquidity": (
        ("business_development", ("chamber_of_commerce",)),
        ("business_development", ("chamber_of_crafts",)),
    ),
    # no tax named: the city's tax office first, the Finanzamt next to it (the bot asks back which tax)
    "tax_relief": (("tax_office", ("state_tax_office",)),) * 2,
    "business_operations_rules": (("health_office", ("trade_office",)),) * 2,
    "insolvency_restructuring": (
        ("chamber_of_commerce", ("business_development",)),
        ("chamber_of_crafts", ("business_development",)),
    ),
    "cyber_incident": (("police_cybercrime", ("cyber_first_aid", "data_protection_authority")),) * 2,
    "energy_costs": (
        ("business_development", ("chamber_of_commerce",)),
        ("business_development", ("chamber_of_crafts",)),
    ),
    "appointment_booking": (("citizen_services", ("trade_office",)),) * 2,
    "business_registration": (
        ("trade_office", ("chamber_of_commerce",)),
        ("trade_office", ("chamber_of_crafts",)),
    ),
    "e_invoicing": (("accounts_payable", ("digital_office",)),) * 2,
    "online_services": (("digital_office", ("citizen_services",)),) * 2,
    "digitalization_funding": (
        ("business_development", ("chamber_of_commerce",)),
        ("business_development", ("chamber_of_crafts",)),
    ),
    "startup_support": (
        ("startup_centres", ("business_development", "chamber_of_commerce")),
        ("startup_centres", ("business_development", "chamber_of_crafts")),
    ),
    "networks_events": (("business_development", ("chamber_of_commerce",)),) * 2,
    "data_protection": (("data_protection_officer", ()),) * 2,
    "smart_city": (("digital_office", ("business_development",)),) * 2,
    "document_management": (("digital_office", ("citizen_services",)),) * 2,
}


def test_expectations_cover_all_topics() -> None:
    assert set(EXPECTED) == set(TOPICAL_INTENTS)


@pytest.mark.parametrize("intent", TOPICAL_INTENTS)
def test_default_route(intent: str) -> None:
    primary, secondary = EXPECTED[intent][0]
    assert route(intent, {}) == Route(primary, secondary, intent)


@pytest.mark.parametrize("intent", TOPICAL_INTENTS)
def test_route_for_handwerk(intent: str) -> None:
    primary, secondary = EXPECTED[intent][1]
    assert route(intent, {"industry": "handwerk"}) == Route(primary, secondary, intent)


@pytest.mark.parametrize("industry", ["gastronomie", "einzelhandel", "freie_berufe", None, "Handwerk "])
def test_emergency_aid_by_industry(industry: str | None) -> None:
    expected = (
        "chamber_of_crafts"
        if industry and industry.strip().lower() == "handwerk"
        else ("chamber_of_commerce")
    )
    assert route("emergency_aid", {"industry": industry}).primary == expected


def test_every_rule_is_reachable_and_units_exist() -> None:
    table = load_routing()
    units = load_directory().units
    assert table.default_unit == "business_development"
    assert units[table.default_unit].handles_cases  # it receives the cases of outside bodies
    for rule in table.rules:
        assert rule.primary in units
        assert all(unit in units for unit in rule.secondary)
        slots: dict[str, object] = {"industry": sorted(rule.industry)[0]} if rule.industry else {}
        if rule.tax:
            slots["tax_type"] = sorted(rule.tax)[0]
        assert route(rule.intent, slots).primary == rule.primary


# --- tax_relief: the tax decides the office (city: Gewerbe-, Grundsteuer; Finanzamt: the rest) ---------


@pytest.mark.parametrize(
    ("tax_type", "primary", "secondary"),
    [
        ("municipal", "tax_office", ("business_development",)),
        ("gewerbesteuer", "tax_office", ("business_development",)),
        ("Grundsteuer", "tax_office", ("business_development",)),
        ("state", "state_tax_office", ("business_development",)),
        ("umsatzsteuer", "state_tax_office", ("business_development",)),
        ("einkommensteuer", "state_tax_office", ("business_development",)),
        ("koerperschaftsteuer", "state_tax_office", ("business_development",)),
        ("lohnsteuer", "state_tax_office", ("business_development",)),
        (["gewerbesteuer", "umsatzsteuer"], "tax_office", ("state_tax_office",)),  # both: the general route
        ("both", "tax_office", ("state_tax_office",)),
        ("kirchensteuer", "tax_office", ("state_tax_office",)),  # unknown: the general route
        (None, "tax_office", ("state_tax_office",)),
    ],
)
def test_tax_relief_by_tax_type(tax_type: object, primary: str, secondary: tuple[str, ...]) -> None:
    assert route("tax_relief", {"tax_type": tax_type}) == Route(primary, secondary, "tax_relief")
    # the handoff and the contact card follow the same office
    slots = {"current_topic": "tax_relief", "tax_type": tax_type}
    assert route("human_handoff", slots) == Route(primary, secondary, "tax_relief")


def test_tax_condition_applies_to_tax_relief_only() -> None:
    assert route("emergency_aid", {"tax_type": "state"}).primary == "chamber_of_commerce"


def test_unknown_tax_scope_in_routing(data_copy: Path) -> None:
    from actions.datafile import DataFileError

    routing = data_copy / "routing.yml"
    text = routing.read_text(encoding="utf-8")
    routing.write_text(text.replace("when: {tax: [state]}", "when: {tax: [federal]}", 1), encoding="utf-8")
    with pytest.raises(DataFileError, match="municipal, state or both") as caught:
        load_routing(routing, data_copy / "contacts.yml")
    assert caught.value.field == "when.tax[0]"
    assert caught.value.line == text[: text.index("when: {tax: [state]}")].count("\n") + 1


@pytest.mark.parametrize("intent", ["contact_request", "human_handoff"])
@pytest.mark.parametrize("topic", TOPICAL_INTENTS)
def test_topic_dependent_intents_follow_current_topic(intent: str, topic: str) -> None:
    primary, secondary = EXPECTED[topic][0]
    assert route(intent, {"current_topic": topic}) == Route(primary, secondary, topic)


@pytest.mark.parametrize("intent", ["contact_request", "human_handoff", "inform", "greet", None])
@pytest.mark.parametrize("topic", [None, "", "greet", "no_such_topic"])
def test_topic_dependent_without_topic_goes_to_default(intent: str | None, topic: str | None) -> None:
    assert route(intent, {"current_topic": topic}) == Route("business_development")


def test_contact_request_after_emergency_aid_for_handwerk() -> None:
    slots = {"current_topic": "emergency_aid", "industry": "handwerk"}
    assert route("contact_request", slots).primary == "chamber_of_crafts"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12", 12),
        (12.0, 12),
        (7, 7),
        ("ca. 25 Leute", 25),
        ("1.200", 1200),
        ("viele", None),
        (None, None),
        (True, None),
    ],
)
def test_parse_employees(value: object, expected: int | None) -> None:
    assert parse_employees(value) == expected


def test_conditions_on_district_and_employees(data_copy: Path) -> None:
    routing = data_copy / "routing.yml"
    text = routing.read_text(encoding="utf-8")
    extra = (
        "  - intent: networks_events\n"
        "    when: {district: [Neckarau, Lindenhof], employees_max: 9}\n"
        "    primary: startup_centres\n"
        "  - intent: networks_events\n"
        "    when: {employees_min: 250}\n"
        "    primary: chamber_of_commerce\n"
        "    secondary: [business_development]\n"
    )
    routing.write_text(
        text.replace("  - intent: networks_events\n", extra + "  - intent: networks_events\n", 1),
        encoding="utf-8",
    )
    table = load_routing(routing, data_copy / "contacts.yml")

    def primary(**slots: object) -> str:
        return table.route("networks_events", slots).primary

    assert primary(district="neckarau", employees="5") == "startup_centres"  # case-insensitive
    assert primary(district="Lindenhof", employees=9) == "startup_centres"
    assert primary(district="Lindenhof", employees=10) == "business_development"
    assert primary(district="Lindenhof") == "business_development"  # unknown size: no match
    assert primary(employees="300 Mitarbeitende") == "chamber_of_commerce"
    assert primary(employees="249") == "business_development"
    assert table.route("contact_request", {"current_topic": "networks_events", "employees": 250}) == Route(
        "chamber_of_commerce", ("business_development",), "networks_events"
    )

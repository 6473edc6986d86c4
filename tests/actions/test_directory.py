from datetime import datetime, timezone

import pytest

from actions.cards import build_card, card_text, status_text
from actions.directory import (
    DAYS,
    Unit,
    berlin,
    load_directory,
    next_opening,
    open_now,
    opening_phrase,
    when_phrase,
)
from actions.texts import UNVERIFIED_NOTE

UNIT_IDS = {
    "employment_agency",
    "business_development",
    "tax_office",
    "citizen_services",
    "trade_office",
    "health_office",
    "accounts_payable",
    "digital_office",
    "data_protection_officer",
    "startup_centres",
    "chamber_of_commerce",
    "chamber_of_crafts",
}
B = berlin()


def at(y: int, mo: int, d: int, h: int = 10, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=B)


@pytest.fixture(scope="module")
def wifoe() -> Unit:
    """business_development: Mon-Thu 08-12 and 13-16, Fri 08-12 (assumed hours)."""
    return load_directory().get("business_development")


def test_directory_has_exactly_the_required_units() -> None:
    assert set(load_directory().units) == UNIT_IDS


@pytest.mark.parametrize("unit_id", sorted(UNIT_IDS))
def test_every_unit_is_complete_and_honest(unit_id: str) -> None:
    unit = load_directory().get(unit_id)
    assert unit.name and unit.description and unit.web.startswith("https://")
    assert unit.languages and "de" in unit.languages
    assert unit.opening_hours is not None and set(unit.opening_hours) == set(DAYS)
    for field in ("phone", "email", "address"):
        if getattr(unit, field) is None:
            assert field in unit.unverified
    assert not unit.verified or not unit.unverified
    # nothing may pretend to be confirmed that is not
    assert unit.verified is False
    assert "opening_hours" in unit.unverified


def test_loader_is_cached() -> None:
    assert load_directory() is load_directory()


def test_card_payload_has_exactly_the_agreed_shape(wifoe: Unit) -> None:
    card = build_card("loans_liquidity", wifoe, at(2026, 11, 24, 10))
    assert card == {
        "type": "contact_card",
        "topic": "loans_liquidity",
        "unit": {
            "id": "business_development",
            "name": "Wirtschaftsförderung der Stadt Mannheim",
            "phone": None,
            "email": None,
            "web": "https://www.mannheim.de",
            "address": None,
            "opening_hours": {
                "mon": [["08:00", "12:00"], ["13:00", "16:00"]],
                "tue": [["08:00", "12:00"], ["13:00", "16:00"]],
                "wed": [["08:00", "12:00"], ["13:00", "16:00"]],
                "thu": [["08:00", "12:00"], ["13:00", "16:00"]],
                "fri": [["08:00", "12:00"]],
                "sat": [],
                "sun": [],
            },
            "open_now": True,
        },
    }


@pytest.mark.parametrize("unit_id", sorted(UNIT_IDS))
def test_card_keys_for_every_unit(unit_id: str) -> None:
    card = build_card("smart_city", load_directory().get(unit_id), at(2026, 11, 28))
    assert list(card) == ["type", "topic", "unit"]
    assert list(card["unit"]) == [
        "id",
        "name",
        "phone",
        "email",
        "web",
        "address",
        "opening_hours",
        "open_now",
    ]
    assert card["unit"]["id"] == unit_id
    assert card["unit"]["open_now"] is False  # Saturday


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        (at(2026, 11, 24, 7, 59), False),  # Tuesday before opening
        (at(2026, 11, 24, 8, 0), True),  # start inclusive
        (at(2026, 11, 24, 11, 59), True),
        (at(2026, 11, 24, 12, 0), False),  # end exclusive: lunch break
        (at(2026, 11, 24, 12, 30), False),
        (at(2026, 11, 24, 13, 0), True),
        (at(2026, 11, 24, 16, 0), False),
        (at(2026, 11, 27, 11, 0), True),  # Friday morning
        (at(2026, 11, 27, 14, 0), False),  # Friday afternoon
        (at(2026, 11, 28, 10, 0), False),  # Saturday
        (at(2026, 11, 29, 10, 0), False),  # Sunday
        (at(2027, 3, 26, 10, 0), False),  # Karfreitag
        (at(2027, 3, 29, 10, 0), False),  # Ostermontag
        (at(2027, 5, 27, 10, 0), False),  # Fronleichnam (Thursday)
        (at(2027, 5, 28, 10, 0), True),  # Friday after Fronleichnam
        (at(2026, 12, 24, 10, 0), True),  # Heiligabend is a working day
        (at(2026, 12, 25, 10, 0), False),
        (at(2027, 1, 6, 10, 0), False),  # Heilige Drei Könige (Wednesday)
    ],
)
def test_open_now(wifoe: Unit, moment: datetime, is_open: bool) -> None:
    assert open_now(wifoe, moment) is is_open


def test_open_now_converts_time_zones(wifoe: Unit) -> None:
    # 09:30 UTC = 10:30 CET (winter); 10:30 UTC = 12:30 CEST (summer, lunch break)
    assert open_now(wifoe, datetime(2026, 11, 24, 9, 30, tzinfo=timezone.utc)) is True
    assert open_now(wifoe, datetime(2027, 7, 1, 10, 30, tzinfo=timezone.utc)) is False
    assert open_now(wifoe, datetime(2027, 7, 1, 6, 30, tzinfo=timezone.utc)) is True  # 08:30 CEST
    # naive datetimes are Berlin local time
    assert open_now(wifoe, datetime(2026, 11, 24, 8, 30)) is True


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (at(2026, 11, 24, 7, 0), at(2026, 11, 24, 8, 0)),
        (at(2026, 11, 24, 12, 30), at(2026, 11, 24, 13, 0)),  # lunch break
        (at(2026, 11, 24, 10, 0), at(2026, 11, 24, 13, 0)),  # open: the next interval
        (at(2026, 11, 24, 16, 0), at(2026, 11, 25, 8, 0)),
        (at(2026, 11, 27, 12, 0), at(2026, 11, 30, 8, 0)),  # Friday noon -> Monday
        (at(2026, 11, 28, 9, 0), at(2026, 11, 30, 8, 0)),  # weekend
        (at(2027, 3, 25, 17, 0), at(2027, 3, 30, 8, 0)),  # Karfreitag + weekend + Ostermontag
        (at(2027, 5, 26, 17, 0), at(2027, 5, 28, 8, 0)),  # Fronleichnam
        (at(2026, 12, 24, 16, 0), at(2026, 12, 28, 8, 0)),  # Christmas
        (at(2026, 12, 31, 16, 0), at(2027, 1, 4, 8, 0)),  # Neujahr Friday + weekend
    ],
)
def test_next_opening(wifoe: Unit, moment: datetime, expected: datetime) -> None:
    assert next_opening(wifoe, moment) == expected


@pytest.mark.parametrize(
    ("moment", "phrase"),
    [
        (at(2026, 11, 24, 10, 0), "Die Stelle ist gerade geöffnet (heute bis 12:00 Uhr)."),
        (
            at(2026, 11, 24, 12, 30),
            "Die Stelle ist gerade geschlossen und wieder erreichbar heute ab 13:00 Uhr.",
        ),
        (
            at(2026, 11, 24, 17, 0),
            "Die Stelle ist gerade geschlossen und wieder erreichbar morgen ab 08:00 Uhr.",
        ),
        (
            at(2026, 11, 27, 12, 0),
            "Die Stelle ist gerade geschlossen und wieder erreichbar am Montag, 30.11., ab 08:00 Uhr.",
        ),
        (
            at(2027, 3, 26, 10, 0),
            "Heute ist Feiertag (Karfreitag): Die Stelle ist gerade geschlossen und wieder erreichbar "
            "am Dienstag, 30.03., ab 08:00 Uhr.",
        ),
        (
            at(2027, 5, 27, 9, 0),
            "Heute ist Feiertag (Fronleichnam): Die Stelle ist gerade geschlossen und wieder erreichbar "
            "morgen ab 08:00 Uhr.",
        ),
    ],
)
def test_opening_phrase(wifoe: Unit, moment: datetime, phrase: str) -> None:
    assert opening_phrase(wifoe, moment) == phrase


def test_when_phrase_crosses_month_and_year() -> None:
    assert when_phrase(at(2027, 1, 4, 8), at(2026, 12, 31, 16)) == "am Montag, 04.01., ab 08:00 Uhr"
    assert when_phrase(at(2027, 1, 1, 8), at(2026, 12, 31, 16)) == "morgen ab 08:00 Uhr"


def _unit(**changes: object) -> Unit:
    base = dict(
        id="x",
        name="Testamt",
        description="Test.",
        phone="0621 123456",
        email=None,
        web="https://www.mannheim.de",
        address=None,
        opening_hours=None,
        languages=("de",),
        verified=True,
    )
    base.update(changes)
    return Unit(**base)  # type: ignore[arg-type]


def test_unknown_hours() -> None:
    unit = _unit()
    assert open_now(unit, at(2026, 11, 24)) is None
    assert next_opening(unit, at(2026, 11, 24)) is None
    assert opening_phrase(unit, at(2026, 11, 24)) == "Die Öffnungszeiten finden Sie auf der Website."
    assert build_card("tax_relief", unit, at(2026, 11, 24))["unit"]["opening_hours"] is None


def test_never_open_unit() -> None:
    unit = _unit(opening_hours={day: () for day in DAYS})
    assert open_now(unit, at(2026, 11, 24)) is False
    assert next_opening(unit, at(2026, 11, 24)) is None
    assert "Öffnungszeiten finden Sie auf der Website" in opening_phrase(unit, at(2026, 11, 24))


def test_unverified_note_only_for_unverified_units(wifoe: Unit) -> None:
    assert status_text(wifoe, at(2026, 11, 24)).endswith(UNVERIFIED_NOTE)
    hours = {day: (("08:00", "12:00"),) for day in DAYS}
    verified = _unit(opening_hours=hours)
    assert UNVERIFIED_NOTE not in status_text(verified, at(2026, 11, 24))
    assert card_text(verified, at(2026, 11, 24, 9)) == (
        "Zuständig: Testamt. Die Stelle ist gerade geöffnet (heute bis 12:00 Uhr)."
    )

"""actions/directory.py and actions/cards.py: the contact directory, opening hours and the contact card.

Invariants are checked on data/contacts.yml (researched facts that change when a page changes); the logic
(open/closed, phrases, holidays, what a card claims) on synthetic units (tests/actions/synthetic.py).
"""

from datetime import date, datetime, timezone
from pathlib import Path
from types import MappingProxyType
from urllib.parse import urlsplit

import pytest

from actions.cards import build_card, card_text, status_text
from actions.directory import (
    CHECK_HOURS,
    DAYS,
    Unit,
    berlin,
    hours_are_fact,
    load_directory,
    next_opening,
    open_now,
    opening_phrase,
    when_phrase,
)
from actions.routing import load_routing
from actions.schemas import SOURCED_UNIT_FIELDS
from actions.sources import Source, is_page_url
from actions.texts import OLD_SOURCE_NOTE
from tests.actions.synthetic import (
    CARD_KEY_ORDER,
    WEEKDAY_HOURS,
    WIFOE_HOURS,
    hours,
    source,
    unit,
    with_hours,
    write_contacts,
)

#: Offices of the city that work cases in the staff console; the chambers, the Agentur für Arbeit, the
#: Finanzamt, the police and the state's data protection authority do not.
CITY_OFFICES = {
    "business_development",
    "tax_office",
    "citizen_services",
    "trade_office",
    "health_office",
    "accounts_payable",
    "digital_office",
    "data_protection_officer",
}
OUTSIDE_BODIES = {
    "employment_agency",
    "state_tax_office",
    "chamber_of_commerce",
    "chamber_of_crafts",
    "police_cybercrime",
    "data_protection_authority",
    "startup_centres",
}
#: Unit ids that staff accounts and cases refer to: they must stay (the directory may grow).
REQUIRED_UNIT_IDS = CITY_OFFICES | OUTSIDE_BODIES
B = berlin()
REAL_UNIT_IDS = sorted(load_directory().units)


def at(y: int, mo: int, d: int, h: int = 10, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=B)


@pytest.fixture(scope="module")
def wifoe() -> Unit:
    """Mon-Thu 08-12 and 13-16, Fri 08-12, stated on a cited page read on 08.12.2026."""
    return with_hours(unit(id="business_development", name="Wirtschaftsförderung"), WIFOE_HOURS)


# --- data/contacts.yml: invariants --------------------------------------------------------------


def test_directory_keeps_the_required_units() -> None:
    assert REQUIRED_UNIT_IDS <= set(load_directory().units)


def test_city_offices_work_cases_outside_bodies_do_not() -> None:
    units = load_directory().units
    assert {uid for uid in CITY_OFFICES if not units[uid].handles_cases} == set()
    assert {uid for uid in OUTSIDE_BODIES if units[uid].handles_cases} == set()


@pytest.mark.parametrize("unit_id", REAL_UNIT_IDS)
def test_every_unit_loads_complete(unit_id: str) -> None:
    unit_ = load_directory().get(unit_id)
    assert unit_.name and unit_.description
    assert unit_.languages and "de" in unit_.languages
    assert unit_.web.startswith("https://") and is_page_url(unit_.web), (
        "web must be a page, not a domain root"
    )
    if unit_.opening_hours is not None:
        assert set(unit_.opening_hours) == set(DAYS)


@pytest.mark.parametrize("unit_id", REAL_UNIT_IDS)
def test_every_value_has_a_source_that_is_a_page(unit_id: str) -> None:
    unit_ = load_directory().get(unit_id)
    present = {f for f in SOURCED_UNIT_FIELDS if getattr(unit_, f) not in (None, "")}
    assert present == set(unit_.present_fields())
    assert present == set(unit_.sources), "exactly the fields with a value have a source"
    for field, src in unit_.sources.items():
        parts = urlsplit(src.url)
        assert parts.scheme in ("http", "https") and parts.hostname, (field, src.url)
        assert parts.path.strip("/") or parts.query, f"{field}: {src.url} is a domain root"
        assert isinstance(src.retrieved, date) and src.retrieved <= date.today()
        assert src.as_of is None or src.as_of <= src.retrieved
    assert unit_.checked_on() == min(src.retrieved for src in unit_.sources.values())


def test_enough_units_are_reachable_by_phone_or_email() -> None:
    """Issue 10's goal is 10 units; the research of 2026-12-08 could source 9 (the stored public pages held no
    contact page of the IHK, the Finanzämter, the Gesundheitsamt, the Gewerbestelle, the IT department or
    NEXT MANNHEIM). This floor keeps what was found from getting lost."""
    reachable = [u.id for u in load_directory().units.values() if u.reachable]
    assert len(reachable) >= 9, reachable


def test_routing_default_unit_handles_cases() -> None:
    default = load_directory().get(load_routing().default_unit)
    assert default.handles_cases, "the default unit receives and forwards the cases of outside bodies"


def test_loader_is_cached() -> None:
    assert load_directory() is load_directory()


@pytest.mark.parametrize("unit_id", REAL_UNIT_IDS)
def test_card_of_every_real_unit_claims_only_sourced_hours(unit_id: str) -> None:
    unit_ = load_directory().get(unit_id)
    now = at(2026, 12, 15, 10)
    card = build_card("smart_city", unit_, now)
    assert card["unit"]["id"] == unit_id
    if hours_are_fact(unit_, now):
        assert card["unit"]["open_now"] is open_now(unit_, now)
    else:
        assert card["unit"]["open_now"] is None
        assert CHECK_HOURS in status_text(unit_, now)
    assert set(card["unit"]["sources"]) == set(unit_.sources)


# --- loading a synthetic file -------------------------------------------------------------------------


def test_loader_reads_sources_handles_cases_and_hours_note(tmp_path: Path) -> None:
    path = write_contacts(
        tmp_path / "contacts.yml",
        {
            "citizen_services": {
                "opening_hours": {d: list(v) for d, v in WEEKDAY_HOURS.items()},
                "hours_note": "Telefonische Erreichbarkeit",
                "note": "Termine online.",
                "as_of": {"opening_hours": date(2013, 2, 11)},
            }
        },
    )
    directory = load_directory(path)
    citizen = directory.get("citizen_services")
    assert citizen.handles_cases is True and directory.get("chamber_of_crafts").handles_cases is False
    assert citizen.hours_note == "Telefonische Erreichbarkeit"
    assert citizen.note == "Termine online."
    assert citizen.opening_hours == WEEKDAY_HOURS
    assert citizen.sources["opening_hours"] == Source(
        url="https://example.org/citizen-services/opening_hours",
        retrieved=date(2026, 12, 8),
        as_of=date(2013, 2, 11),
    )
    assert set(citizen.sources) == {"name", "phone", "web", "opening_hours", "note"}
    assert citizen.old_fields(date(2026, 12, 15)) == ("opening_hours",)
    assert not hours_are_fact(citizen, at(2026, 12, 15))  # a page from 2013 does not make hours a fact


# --- the card -----------------------------------------------------------------------------------------


def test_card_payload_has_exactly_the_agreed_shape(wifoe: Unit) -> None:
    card = build_card("loans_liquidity", wifoe, at(2026, 11, 24, 10))
    assert card == {
        "type": "contact_card",
        "topic": "loans_liquidity",
        "unit": {
            "id": "business_development",
            "name": "Wirtschaftsförderung",
            "description": "Test.",
            "phone": "0621 123456",
            "email": None,
            "web": "https://example.org/testamt",
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
            "hours_note": None,
            "open_now": True,
            "languages": ["de"],
            "note": None,
            "checked": "2026-12-08",
            "old_fields": [],
            "sources": {
                field: {"url": "https://example.org/page", "retrieved": "2026-12-08"}
                for field in ("name", "phone", "web", "opening_hours")
            },
        },
    }


def test_card_keys_and_closed_status(wifoe: Unit) -> None:
    card = build_card("smart_city", wifoe, at(2026, 11, 28))
    assert list(card) == ["type", "topic", "unit"]
    assert tuple(card["unit"]) == CARD_KEY_ORDER
    assert card["unit"]["open_now"] is False  # Saturday


def test_card_checked_is_the_oldest_retrieved_date_and_sources_carry_as_of() -> None:
    u = unit(
        email="info@example.org",
        sources={
            "name": source(retrieved=date(2026, 12, 8)),
            "phone": source(retrieved=date(2026, 10, 1), as_of=date(2025, 3, 1)),
            "email": Source(url="https://example.org/kontakt", retrieved=date(2026, 11, 2), title="Kontakt"),
            "web": source(),
        },
    )
    card = build_card("tax_relief", u, at(2026, 12, 15))["unit"]
    assert card["checked"] == "2026-10-01"
    assert card["sources"]["phone"] == {
        "url": "https://example.org/page",
        "retrieved": "2026-10-01",
        "as_of": "2025-03-01",
    }
    assert card["sources"]["email"]["title"] == "Kontakt"


# --- opening hours (sourced) --------------------------------------------------------------------------


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
    assert build_card("smart_city", wifoe, moment)["unit"]["open_now"] is is_open


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
        (at(2026, 11, 24, 10, 0), "Die Stelle ist gerade erreichbar (heute bis 12:00 Uhr)."),
        (at(2026, 11, 24, 12, 30), "Die Stelle ist gerade nicht erreichbar, wieder heute ab 13:00 Uhr."),
        (at(2026, 11, 24, 17, 0), "Die Stelle ist gerade nicht erreichbar, wieder morgen ab 08:00 Uhr."),
        (
            at(2026, 11, 27, 12, 0),
            "Die Stelle ist gerade nicht erreichbar, wieder am Montag, 30.11., ab 08:00 Uhr.",
        ),
        (
            at(2027, 3, 26, 10, 0),
            "Heute ist Feiertag (Karfreitag): Die Stelle ist gerade nicht erreichbar, wieder "
            "am Dienstag, 30.03., ab 08:00 Uhr.",
        ),
        (
            at(2027, 5, 27, 9, 0),
            "Heute ist Feiertag (Fronleichnam): Die Stelle ist gerade nicht erreichbar, wieder morgen ab 08:00 Uhr.",
        ),
    ],
)
def test_opening_phrase(wifoe: Unit, moment: datetime, phrase: str) -> None:
    assert opening_phrase(wifoe, moment) == phrase


def test_when_phrase_crosses_month_and_year() -> None:
    assert when_phrase(at(2027, 1, 4, 8), at(2026, 12, 31, 16)) == "am Montag, 04.01., ab 08:00 Uhr"
    assert when_phrase(at(2027, 1, 1, 8), at(2026, 12, 31, 16)) == "morgen ab 08:00 Uhr"


def test_never_open_unit() -> None:
    u = with_hours(unit(), hours())
    assert open_now(u, at(2026, 11, 24)) is False
    assert next_opening(u, at(2026, 11, 24)) is None
    assert opening_phrase(u, at(2026, 11, 24)) == (
        "Die Stelle ist gerade nicht erreichbar; sprech- und Telefonzeiten bitte auf der Seite der Stelle prüfen."
    )


def test_card_text_with_sourced_hours() -> None:
    u = with_hours(unit(), hours(tue=(("08:00", "12:00"),)))
    assert (
        card_text(u, at(2026, 11, 24, 9))
        == "Zuständig: Testamt. Die Stelle ist gerade erreichbar (heute bis 12:00 Uhr)."
    )


# --- honesty: no open/closed claim without sourced hours ----------------------------------------------


def _claims_hours(text: str) -> bool:
    return any(word in text for word in ("geöffnet", "geschlossen", "erreichbar", " Uhr"))


@pytest.mark.parametrize(
    "u",
    [
        unit(),  # no hours known
        unit(
            opening_hours=WIFOE_HOURS, sources={"name": source(), "phone": source(), "web": source()}
        ),  # unsourced
        with_hours(unit(), WIFOE_HOURS, as_of=date(2019, 5, 1)),  # from a page older than three years
    ],
    ids=["no-hours", "hours-without-source", "hours-from-old-page"],
)
def test_honest_card_without_sourced_hours(u: Unit) -> None:
    moment = at(2026, 11, 24, 10)  # the hours would say "open"
    assert not hours_are_fact(u, moment)
    assert opening_phrase(u, moment) == CHECK_HOURS
    text = card_text(u, moment)
    assert text.startswith(f"Zuständig: Testamt. {CHECK_HOURS}")
    assert not _claims_hours(text)
    card = build_card("tax_relief", u, moment)["unit"]
    assert card["open_now"] is None
    assert card["opening_hours"] == u.hours_json()


def test_unknown_hours() -> None:
    u = unit()
    assert open_now(u, at(2026, 11, 24)) is None
    assert next_opening(u, at(2026, 11, 24)) is None
    assert build_card("tax_relief", u, at(2026, 11, 24))["unit"]["opening_hours"] is None


# --- old pages -------------------------------------------------------------------------------------------


def test_old_page_hint_names_the_fields_from_old_pages() -> None:
    u = unit(
        email="info@example.org",
        sources={
            "name": source(),
            "phone": source(as_of=date(2013, 5, 24)),
            "email": source(as_of=date(2024, 1, 1)),
            "web": source(),
        },
    )
    moment = at(2026, 12, 15)
    assert u.old_fields(moment.date()) == ("phone",)
    assert status_text(u, moment) == f"{CHECK_HOURS} {OLD_SOURCE_NOTE}"
    card = build_card("emergency_aid", u, moment)["unit"]
    assert card["old_fields"] == ["phone"]
    assert card["phone"] == "0621 123456"  # still shown, with the hint


def test_old_page_hint_with_sourced_hours_still_gives_the_status() -> None:
    u = with_hours(
        unit(sources={"name": source(as_of=date(2020, 1, 1)), "phone": source(), "web": source()}),
        WIFOE_HOURS,
    )
    assert status_text(u, at(2026, 11, 24, 10)) == (
        f"Die Stelle ist gerade erreichbar (heute bis 12:00 Uhr). {OLD_SOURCE_NOTE}"
    )


def test_no_hint_for_recent_pages(wifoe: Unit) -> None:
    assert wifoe.old_fields(date(2026, 12, 15)) == ()
    assert OLD_SOURCE_NOTE not in status_text(wifoe, at(2026, 11, 24))


@pytest.mark.parametrize(
    ("as_of", "today", "old"),
    [
        (date(2023, 12, 15), date(2026, 12, 15), False),  # exactly three years
        (date(2023, 12, 14), date(2026, 12, 15), True),
        (date(2025, 2, 28), date(2028, 2, 29), False),  # 29 February: three years back is the 28th
        (date(2025, 2, 27), date(2028, 2, 29), True),
    ],
)
def test_hours_older_than_three_years_are_no_fact(as_of: date, today: date, old: bool) -> None:
    u = with_hours(unit(), WEEKDAY_HOURS, as_of=as_of)
    moment = datetime(today.year, today.month, today.day, 10, tzinfo=B)
    assert source(as_of=as_of).is_old(today) is old
    assert hours_are_fact(u, moment) is not old
    assert (u.old_fields(today) == ("opening_hours",)) is old


def test_a_source_for_a_field_without_value_is_no_old_field() -> None:
    u = unit(
        sources=MappingProxyType(
            {"name": source(), "phone": source(), "web": source(), "email": source(as_of=date(2000, 1, 1))}
        )
    )
    assert u.old_fields(date(2026, 12, 15)) == ()

"""actions/servicelevel.py: when a unit answers a case (8 working hours of its opening time), and when a
date may be promised at all (a city office with hours stated on a cited page, not older than three years).

The units are synthetic (tests/actions/synthetic.py): the logic must not depend on researched values.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pytest

from actions.directory import Unit, berlin
from actions.servicelevel import deadline_phrase, expected_response_by, promised_response_by
from tests.actions.synthetic import MORNING_HOURS, WEEKDAY_HOURS, WIFOE_HOURS, unit, with_hours

WIFOE = with_hours(unit(id="business_development"), WIFOE_HOURS)  # Mo-Do 8-12, 13-16, Fr 8-12
HOTLINE = with_hours(unit(id="hotline"), WEEKDAY_HOURS)  # Mo-Fr 8-18
TAXES = with_hours(unit(id="tax_office"), MORNING_HOURS)  # Mo-Fr 8-12, Do also 14-17
UNITS = {"wifoe": WIFOE, "hotline": HOTLINE, "taxes": TAXES}


def at(day: str, clock: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=berlin())


@pytest.mark.parametrize(
    ("unit_key", "created", "expected", "phrase"),
    [
        # Mo-Do 8-12, 13-16, Fr 8-12: Tue 10:00 -> 5 h Tue + 3 h Wed
        ("wifoe", at("2026-11-24", "10:00"), at("2026-11-25", "11:00"), "morgen bis 11:00 Uhr"),
        # Friday after closing: Monday 7 h, Tuesday 1 h (weekend skipped)
        ("wifoe", at("2026-11-27", "12:30"), at("2026-12-01", "09:00"), "am Dienstag, 01.12., bis 09:00 Uhr"),
        ("wifoe", at("2026-11-28", "11:00"), at("2026-12-01", "09:00"), "am Dienstag, 01.12., bis 09:00 Uhr"),
        # Mo-Fr 8-18: New Year's Day and the weekend skipped
        ("hotline", at("2026-12-31", "17:00"), at("2027-01-04", "15:00"), "am Montag, 04.01., bis 15:00 Uhr"),
        # Heilige Drei Könige (Wednesday, 06.01.2027) is a holiday in Baden-Württemberg
        (
            "hotline",
            at("2027-01-05", "15:00"),
            at("2027-01-07", "13:00"),
            "am Donnerstag, 07.01., bis 13:00 Uhr",
        ),
        # Easter 2027: Good Friday 26.03. and Easter Monday 29.03. skipped
        (
            "hotline",
            at("2027-03-25", "16:00"),
            at("2027-03-30", "14:00"),
            "am Dienstag, 30.03., bis 14:00 Uhr",
        ),
        # ends exactly at the end of an opening interval
        ("taxes", at("2026-11-30", "08:00"), at("2026-12-01", "12:00"), "morgen bis 12:00 Uhr"),
        # open all day: 8 h later on the same day
        ("hotline", at("2026-11-24", "08:00"), at("2026-11-24", "16:00"), "heute bis 16:00 Uhr"),
    ],
)
def test_expected_response_by(unit_key: str, created: datetime, expected: datetime, phrase: str) -> None:
    unit_ = UNITS[unit_key]
    deadline = expected_response_by(unit_, created)
    assert deadline == expected
    assert deadline.tzinfo is not None and deadline.utcoffset() == expected.utcoffset()
    assert deadline_phrase(deadline, created) == phrase
    assert promised_response_by(unit_, created) == expected  # a city office with sourced hours


def test_deadline_is_rounded_up_to_a_quarter_hour() -> None:
    # Tue 10:07: 7 h 53 min on Tuesday, 7 min on Wednesday -> 08:07 -> 08:15
    assert expected_response_by(HOTLINE, at("2026-11-24", "10:07")) == at("2026-11-25", "08:15")


def test_rounding_never_passes_the_end_of_the_interval() -> None:
    # Tue 09:59:30 + 8 h = 17:59:30 -> rounded, but not past 18:00
    assert expected_response_by(HOTLINE, at("2026-11-24", "09:59:30")) == at("2026-11-24", "18:00")


def test_unit_without_opening_hours_uses_office_hours() -> None:
    unit_ = with_hours(WIFOE, None)
    # default Mo-Fr 8-16: Tue 10:00 -> 6 h Tue + 2 h Wed
    assert expected_response_by(unit_, at("2026-11-24", "10:00")) == at("2026-11-25", "10:00")


def test_sparse_opening_hours_fall_back_to_office_hours() -> None:
    closed_all_week = with_hours(WIFOE, {day: () for day in WIFOE_HOURS})
    assert expected_response_by(closed_all_week, at("2026-11-24", "10:00")) == at("2026-11-25", "10:00")


def test_iso_format_in_berlin_time() -> None:
    winter = expected_response_by(WIFOE, at("2026-11-24", "10:00")).isoformat(timespec="seconds")
    summer = expected_response_by(WIFOE, at("2026-06-23", "10:00")).isoformat(timespec="seconds")
    assert winter == "2026-11-25T11:00:00+01:00"
    assert summer == "2026-06-24T11:00:00+02:00"


# --- promised_response_by: a date only where it can be kept ---------------------------------------


@pytest.mark.parametrize(
    ("unit_", "why"),
    [
        (replace(WIFOE, handles_cases=False), "an outside body: the city cannot promise for it"),
        (with_hours(WIFOE, None), "no page states the hours"),
        (
            replace(WIFOE, sources={k: v for k, v in WIFOE.sources.items() if k != "opening_hours"}),
            "hours without source",
        ),
        (with_hours(WIFOE, WIFOE_HOURS, as_of=date(2020, 1, 1)), "hours from a page older than three years"),
    ],
)
def test_no_promise_without_sourced_hours_of_a_city_office(unit_: Unit, why: str) -> None:
    assert promised_response_by(unit_, at("2026-12-15", "10:00")) is None, why


def test_promise_for_a_city_office_with_recent_hours() -> None:
    recent = with_hours(WIFOE, WIFOE_HOURS, as_of=date(2024, 6, 1))
    assert promised_response_by(recent, at("2026-12-15", "10:00")) == at("2026-12-16", "11:00")

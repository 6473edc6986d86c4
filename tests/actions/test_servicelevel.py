"""actions/servicelevel.py: when a unit answers a case (8 working hours of its opening time)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from actions.directory import berlin, load_directory
from actions.servicelevel import deadline_phrase, expected_response_by


def at(day: str, clock: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=berlin())


@pytest.mark.parametrize(
    ("unit_id", "created", "expected", "phrase"),
    [
        # Wirtschaftsförderung Mo-Do 8-12, 13-16, Fr 8-12: Tue 10:00 -> 5 h Tue + 3 h Wed
        (
            "business_development",
            at("2026-11-24", "10:00"),
            at("2026-11-25", "11:00"),
            "morgen bis 11:00 Uhr",
        ),
        # Friday after closing: Monday 7 h, Tuesday 1 h (weekend skipped)
        (
            "business_development",
            at("2026-11-27", "12:30"),
            at("2026-12-01", "09:00"),
            "am Dienstag, 01.12., bis 09:00 Uhr",
        ),
        (
            "business_development",
            at("2026-11-28", "11:00"),
            at("2026-12-01", "09:00"),
            "am Dienstag, 01.12., bis 09:00 Uhr",
        ),
        # Agentur für Arbeit Mo-Fr 8-18: New Year's Day and the weekend skipped
        (
            "employment_agency",
            at("2026-12-31", "17:00"),
            at("2027-01-04", "15:00"),
            "am Montag, 04.01., bis 15:00 Uhr",
        ),
        # Heilige Drei Könige (Wednesday, 06.01.2027) is a holiday in Baden-Württemberg
        (
            "employment_agency",
            at("2027-01-05", "15:00"),
            at("2027-01-07", "13:00"),
            "am Donnerstag, 07.01., bis 13:00 Uhr",
        ),
        # Easter 2027: Good Friday 26.03. and Easter Monday 29.03. skipped
        (
            "employment_agency",
            at("2027-03-25", "16:00"),
            at("2027-03-30", "14:00"),
            "am Dienstag, 30.03., bis 14:00 Uhr",
        ),
        # Steueramt: ends exactly at the end of an opening interval
        ("tax_office", at("2026-11-30", "08:00"), at("2026-12-01", "12:00"), "morgen bis 12:00 Uhr"),
        # open all day: 8 h later on the same day
        ("employment_agency", at("2026-11-24", "08:00"), at("2026-11-24", "16:00"), "heute bis 16:00 Uhr"),
    ],
)
def test_expected_response_by(unit_id: str, created: datetime, expected: datetime, phrase: str) -> None:
    unit = load_directory().get(unit_id)
    deadline = expected_response_by(unit, created)
    assert deadline == expected
    assert deadline.tzinfo is not None and deadline.utcoffset() == expected.utcoffset()
    assert deadline_phrase(deadline, created) == phrase


def test_deadline_is_rounded_up_to_a_quarter_hour() -> None:
    unit = load_directory().get("employment_agency")
    # Tue 10:07: 7 h 53 min on Tuesday, 7 min on Wednesday -> 08:07 -> 08:15
    assert expected_response_by(unit, at("2026-11-24", "10:07")) == at("2026-11-25", "08:15")


def test_rounding_never_passes_the_end_of_the_interval() -> None:
    unit = load_directory().get("employment_agency")
    # Tue 09:59:30 + 8 h = 17:59:30 -> rounded, but not past 18:00
    assert expected_response_by(unit, at("2026-11-24", "09:59:30")) == at("2026-11-24", "18:00")


def test_unit_without_opening_hours_uses_office_hours() -> None:
    unit = replace(load_directory().get("business_development"), opening_hours=None)
    # default Mo-Fr 8-16: Tue 10:00 -> 6 h Tue + 2 h Wed
    assert expected_response_by(unit, at("2026-11-24", "10:00")) == at("2026-11-25", "10:00")


def test_sparse_opening_hours_fall_back_to_office_hours() -> None:
    unit = load_directory().get("business_development")
    closed_all_week = replace(unit, opening_hours={day: () for day in unit.opening_hours})
    assert expected_response_by(closed_all_week, at("2026-11-24", "10:00")) == at("2026-11-25", "10:00")


def test_iso_format_in_berlin_time() -> None:
    unit = load_directory().get("business_development")
    winter = expected_response_by(unit, at("2026-11-24", "10:00")).isoformat(timespec="seconds")
    summer = expected_response_by(unit, at("2026-06-23", "10:00")).isoformat(timespec="seconds")
    assert winter == "2026-11-25T11:00:00+01:00"
    assert summer == "2026-06-24T11:00:00+02:00"

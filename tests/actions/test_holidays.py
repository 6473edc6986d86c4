from datetime import date

import pytest

from actions.holidays import bw_holidays, easter_sunday, holiday_name, is_holiday


@pytest.mark.parametrize(
    ("year", "expected"),
    [
        (2000, date(2000, 4, 23)),
        (2019, date(2019, 4, 21)),
        (2024, date(2024, 3, 31)),
        (2025, date(2025, 4, 20)),
        (2026, date(2026, 4, 5)),
        (2027, date(2027, 3, 28)),
        (2038, date(2038, 4, 25)),
        (2285, date(2285, 3, 22)),  # earliest possible date
        (1943, date(1943, 4, 25)),  # latest possible date
    ],
)
def test_easter_sunday(year: int, expected: date) -> None:
    assert easter_sunday(year) == expected


def test_bw_holidays_2027() -> None:
    assert bw_holidays(2027) == {
        date(2027, 1, 1): "Neujahr",
        date(2027, 1, 6): "Heilige Drei Könige",
        date(2027, 3, 26): "Karfreitag",
        date(2027, 3, 29): "Ostermontag",
        date(2027, 5, 1): "Tag der Arbeit",
        date(2027, 5, 6): "Christi Himmelfahrt",
        date(2027, 5, 17): "Pfingstmontag",
        date(2027, 5, 27): "Fronleichnam",
        date(2027, 10, 3): "Tag der Deutschen Einheit",
        date(2027, 11, 1): "Allerheiligen",
        date(2027, 12, 25): "1. Weihnachtstag",
        date(2027, 12, 26): "2. Weihnachtstag",
    }


@pytest.mark.parametrize(
    "day",
    [date(2026, 4, 3), date(2026, 6, 4), date(2026, 5, 14), date(2026, 5, 25), date(2026, 12, 26)],
)
def test_movable_and_fixed_holidays_2026(day: date) -> None:
    assert is_holiday(day)


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 11, 24),
        date(2026, 12, 24),  # Heiligabend: no public holiday
        date(2026, 12, 31),
        date(2027, 10, 31),  # Reformationstag: no holiday in BW (only 2017)
        date(2027, 8, 15),  # Mariä Himmelfahrt: not in BW
        date(2027, 11, 17),  # Buß- und Bettag: not in BW
    ],
)
def test_no_holiday(day: date) -> None:
    assert holiday_name(day) is None

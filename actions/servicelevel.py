"""When a unit answers a case: one working day (8 h) of the unit's opening time after the case was made.

Counting starts now if the unit is open, else at its next opening; weekends, closed hours and the public
holidays of Baden-Württemberg (actions/holidays.py, via directory.intervals_on) do not count.
A date is promised only for offices that work cases in the staff console (``handles_cases``) and whose
hours a cited page states (``directory.hours_are_fact``); for every other office ``promised_response_by``
gives None and the user is told honestly that no date can be promised.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from actions.directory import Unit, day_phrase, hours_are_fact, intervals_on, local
from actions.schemas import DAYS

#: Working hours of the unit's opening time within which a case is answered.
RESPONSE_HOURS = 8.0
#: How far ahead to count (covers Christmas/New Year and units open a few hours a week).
SEARCH_DAYS = 62
#: Deadlines are rounded up to this many minutes (but never past the end of an opening interval).
ROUND_MINUTES = 15
#: Assumed office hours for units whose opening hours are unknown.
DEFAULT_HOURS: dict[str, tuple[tuple[str, str], ...]] = {
    day: ((("08:00", "16:00"),) if day not in ("sat", "sun") else ()) for day in DAYS
}


def _round_up(moment: datetime, limit: datetime) -> datetime:
    minutes = moment.minute % ROUND_MINUTES
    if minutes == 0 and moment.second == 0 and moment.microsecond == 0:
        return moment
    rounded = moment.replace(second=0, microsecond=0) + timedelta(minutes=ROUND_MINUTES - minutes)
    return min(rounded, limit)


def expected_response_by(unit: Unit, at: datetime, hours: float = RESPONSE_HOURS) -> datetime:
    """The moment by which ``unit`` answers a case made at ``at`` (Europe/Berlin)."""
    now = local(at)
    counted = unit if unit.opening_hours is not None else replace(unit, opening_hours=DEFAULT_HOURS)
    remaining = timedelta(hours=hours)
    for offset in range(SEARCH_DAYS + 1):
        for start, end in intervals_on(counted, now.date() + timedelta(days=offset)):
            if end <= now:
                continue
            start = max(start, now)
            if end - start >= remaining:
                return _round_up(start + remaining, end)
            remaining -= end - start
    # opening hours too sparse to count: fall back to the default office hours
    if counted.opening_hours is not DEFAULT_HOURS:
        return expected_response_by(replace(unit, opening_hours=None), at, hours)
    return now + timedelta(days=3)  # pragma: no cover - DEFAULT_HOURS always has working days


def promised_response_by(unit: Unit, at: datetime) -> datetime | None:
    """The reply deadline the user may be promised, or None (outside body, or hours not sourced)."""
    if not unit.handles_cases or not hours_are_fact(unit, at):
        return None
    return expected_response_by(unit, at)


def deadline_phrase(moment: datetime, at: datetime) -> str:
    """'heute bis 15:00 Uhr', 'morgen bis 11:00 Uhr' or 'am Dienstag, 01.12., bis 16:00 Uhr'."""
    return day_phrase(moment, at, "bis")

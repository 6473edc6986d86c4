"""The contact directory (data/contacts.yml): loading, validation and office hours."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from actions.datafile import (
    DATA_DIR,
    DataFileError,
    EntryNamer,
    check_schema,
    field_name,
    line_of,
    read_yaml,
)
from actions.holidays import holiday_name
from actions.schemas import CONTACTS_SCHEMA, DAYS, SOURCED_UNIT_FIELDS
from actions.sources import Source, source_from, source_problem
from actions.texts import WEEKDAYS_DE

CONTACTS_FILE = DATA_DIR / "contacts.yml"
#: How far ahead next_opening() looks (covers Christmas/New Year and long holiday runs).
SEARCH_DAYS = 31

Interval = tuple[str, str]


@dataclass(frozen=True)
class Unit:
    """One office of the contact directory; every value comes from a cited page (``sources``)."""

    id: str
    name: str
    description: str
    phone: str | None
    email: str | None
    web: str
    address: str | None
    opening_hours: Mapping[str, tuple[Interval, ...]] | None
    languages: tuple[str, ...]
    handles_cases: bool = False
    sources: Mapping[str, Source] = MappingProxyType({})
    hours_note: str | None = None
    note: str | None = None

    def hours_json(self) -> dict[str, list[list[str]]] | None:
        """Opening hours as plain JSON (mon..sun -> [[from, to], ...]); None when no page states them."""
        if self.opening_hours is None:
            return None
        return {day: [list(iv) for iv in self.opening_hours[day]] for day in DAYS}

    @property
    def reachable(self) -> bool:
        """True when a cited page gives a phone number or an e-mail address."""
        return bool(self.phone or self.email)

    def present_fields(self) -> tuple[str, ...]:
        """The sourced fields that have a value."""
        return tuple(f for f in SOURCED_UNIT_FIELDS if getattr(self, f) not in (None, ""))

    def checked_on(self) -> date | None:
        """The oldest ``retrieved`` date of the unit's sources (None without sources)."""
        return min((src.retrieved for src in self.sources.values()), default=None)

    def old_fields(self, today: date) -> tuple[str, ...]:
        """Fields whose page is older than OLD_PAGE_YEARS years (shown with a hint to check the page)."""
        return tuple(f for f, src in self.sources.items() if getattr(self, f, None) and src.is_old(today))


@dataclass(frozen=True)
class Directory:
    """All units, by id."""

    path: Path
    units: Mapping[str, Unit]

    def __contains__(self, unit_id: object) -> bool:
        return unit_id in self.units

    def get(self, unit_id: str) -> Unit:
        """The unit with ``unit_id`` (KeyError if unknown)."""
        return self.units[unit_id]


def _minutes(value: str) -> int:
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def _check_unit(path: Path, data: Any, unit_id: str, raw: Mapping[str, Any]) -> None:
    def fail(message: str, *where: str | int) -> None:
        line = line_of(data, ("units", unit_id, *where))
        raise DataFileError(path, message, entry=unit_id, field=field_name(where), line=line)

    hours = raw["opening_hours"] or {}
    for day in DAYS:
        intervals = hours.get(day, [])
        previous: tuple[int, int] | None = None
        for index, (start, end) in sorted(enumerate(intervals), key=lambda item: item[1][0]):
            if _minutes(start) >= _minutes(end):
                fail(f"interval {start}-{end} ends before it starts", "opening_hours", day, index)
            if previous is not None and _minutes(start) < previous[1]:
                fail(
                    f"interval {start}-{end} overlaps another interval on {day}", "opening_hours", day, index
                )
            previous = (_minutes(start), _minutes(end))
    sources = raw.get("sources") or {}
    for field in SOURCED_UNIT_FIELDS:
        if raw.get(field) not in (None, "") and field not in sources:
            fail("has a value but no source (add sources." + field + ": {url, retrieved})", field)
    for field, source in sources.items():
        if raw.get(field) in (None, ""):
            fail(f"source given for '{field}', which has no value", "sources", field)
        problem = source_problem(source)
        if problem is not None:
            fail(problem[1], "sources", field, problem[0])


def _sources(raw: Mapping[str, Any]) -> Mapping[str, Source]:
    return MappingProxyType({field: source_from(src) for field, src in (raw.get("sources") or {}).items()})


def _build(path: Path, data: Any) -> Directory:
    check_schema(path, data, CONTACTS_SCHEMA, EntryNamer("units"))
    units: dict[str, Unit] = {}
    for unit_id, raw in data["units"].items():
        _check_unit(path, data, unit_id, raw)
        hours = raw["opening_hours"]
        units[unit_id] = Unit(
            id=unit_id,
            name=str(raw["name"]),
            description=str(raw["description"]),
            phone=raw["phone"],
            email=raw["email"],
            web=str(raw["web"]),
            address=raw["address"],
            opening_hours=None
            if hours is None
            else {day: tuple(sorted((str(a), str(b)) for a, b in hours[day])) for day in DAYS},
            languages=tuple(raw["languages"]),
            handles_cases=bool(raw["handles_cases"]),
            sources=_sources(raw),
            hours_note=raw.get("hours_note"),
            note=raw.get("note"),
        )
    return Directory(path=path, units=MappingProxyType(units))


@lru_cache(maxsize=16)
def _load_cached(path: Path, _mtime_ns: int) -> Directory:
    return _build(path, read_yaml(path))


def load_directory(path: Path | str | None = None) -> Directory:
    """Load and validate data/contacts.yml (or ``path``); cached until the file changes."""
    resolved = Path(path or CONTACTS_FILE).resolve()
    try:
        mtime = resolved.stat().st_mtime_ns
    except OSError as exc:
        raise DataFileError(resolved, f"cannot read file ({exc.strerror or exc})") from exc
    return _load_cached(resolved, mtime)


# --- office hours -------------------------------------------------------------------------


@lru_cache(maxsize=1)
def berlin() -> ZoneInfo:
    """The Europe/Berlin time zone (loaded on first use, not on import)."""
    return ZoneInfo("Europe/Berlin")


def local(at: datetime) -> datetime:
    """``at`` in Europe/Berlin; naive datetimes are taken as Berlin local time."""
    return at.replace(tzinfo=berlin()) if at.tzinfo is None else at.astimezone(berlin())


def intervals_on(unit: Unit, day: date) -> list[tuple[datetime, datetime]]:
    """Opening intervals of ``unit`` on ``day`` as Berlin datetimes; none on BW public holidays."""
    if unit.opening_hours is None or holiday_name(day) is not None:
        return []
    result = []
    for start, end in unit.opening_hours[DAYS[day.weekday()]]:
        result.append(
            (
                datetime.combine(day, time.fromisoformat(start), tzinfo=berlin()),
                datetime.combine(day, time.fromisoformat(end), tzinfo=berlin()),
            )
        )
    return result


def hours_are_fact(unit: Unit, at: datetime) -> bool:
    """True when a cited page, not older than OLD_PAGE_YEARS, states the unit's hours."""
    source = unit.sources.get("opening_hours")
    return unit.opening_hours is not None and source is not None and not source.is_old(local(at).date())


def open_now(unit: Unit, at: datetime) -> bool | None:
    """True if ``unit`` is open at ``at`` (start inclusive, end exclusive); None unless a cited page not older
    than OLD_PAGE_YEARS states the hours (assumed or outdated hours never become "open"/"closed")."""
    if not hours_are_fact(unit, at):
        return None
    now = local(at)
    return any(start <= now < end for start, end in intervals_on(unit, now.date()))


def closes_at(unit: Unit, at: datetime) -> datetime | None:
    """End of the opening interval ``at`` lies in, or None if the unit is closed."""
    now = local(at)
    for start, end in intervals_on(unit, now.date()):
        if start <= now < end:
            return end
    return None


def next_opening(unit: Unit, at: datetime) -> datetime | None:
    """Start of the next opening interval after ``at`` (within SEARCH_DAYS), or None."""
    now = local(at)
    for offset in range(SEARCH_DAYS + 1):
        for start, _end in intervals_on(unit, now.date() + timedelta(days=offset)):
            if start > now:
                return start
    return None


def day_phrase(moment: datetime, at: datetime, preposition: str) -> str:
    """'heute <prep> 13:00 Uhr', 'morgen <prep> 08:00 Uhr' or 'am Montag, 30.11., <prep> 08:00 Uhr'."""
    moment, now = local(moment), local(at)
    clock = moment.strftime("%H:%M")
    days = (moment.date() - now.date()).days
    if days == 0:
        return f"heute {preposition} {clock} Uhr"
    if days == 1:
        return f"morgen {preposition} {clock} Uhr"
    return f"am {WEEKDAYS_DE[moment.weekday()]}, {moment:%d.%m.}, {preposition} {clock} Uhr"


def when_phrase(moment: datetime, at: datetime) -> str:
    """'heute ab 13:00 Uhr', 'morgen ab 08:00 Uhr' or 'am Montag, 30.11., ab 08:00 Uhr'."""
    return day_phrase(moment, at, "ab")


CHECK_HOURS = "Sprech- und Telefonzeiten bitte auf der Seite der Stelle prüfen."


def opening_phrase(unit: Unit, at: datetime) -> str:
    """German sentence: open now (until when) or when the unit is reachable again — only from sourced hours."""
    if not hours_are_fact(unit, at):
        return CHECK_HOURS
    end = closes_at(unit, at)
    if end is not None:
        return f"Die Stelle ist gerade erreichbar (heute bis {end:%H:%M} Uhr)."
    holiday = holiday_name(local(at).date())
    prefix = f"Heute ist Feiertag ({holiday}): " if holiday else ""
    following = next_opening(unit, at)
    if following is None:
        return f"{prefix}Die Stelle ist gerade nicht erreichbar; {CHECK_HOURS[0].lower()}{CHECK_HOURS[1:]}"
    return f"{prefix}Die Stelle ist gerade nicht erreichbar, wieder {when_phrase(following, at)}."

"""Figures for the operator dashboard (/ops): conversations, intents, fallback and escalation rates,
feedback, cases per unit and NLU confidence for a range of days (Europe/Berlin).

The database groups by UTC hour (portable: ``strftime`` on SQLite, ``to_char`` on PostgreSQL); Python folds
the hours into local days. Every offset of Europe/Berlin is a whole number of hours, so an hour never straddles
two local days and the per-day figures are exact, daylight-saving days included.

Definitions (also in docs/operator-console.md):

* conversations: conversations started (consent given) on the day;
* escalation rate: share of those conversations with at least one case;
* fallback rate: share of the user messages Rasa classified that got ``nlu_fallback``;
* average confidence: mean confidence of the recognised intent over the classified user messages, without
  ``nlu_fallback`` (its "confidence" is the classifier's threshold, not a measurement);
* 👍/👎: ratings given in the range; cases per unit: cases created in the range, by responsible unit.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, exists, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.models import Case, Conversation, Feedback, Message

BERLIN = ZoneInfo("Europe/Berlin")
FALLBACK_INTENT = "nlu_fallback"
DEFAULT_DAYS = 30
MAX_DAYS = 366
TOP_INTENTS = 10
FIRST_YEAR, LAST_YEAR = 2000, 2099
GERMAN_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")


class RangeError(ValueError):
    """A date range the dashboard cannot show; the message is German and meant for the user."""


@dataclass(frozen=True)
class DateRange:
    """Local calendar days ``start`` … ``end`` (both included) in Europe/Berlin."""

    start: date
    end: date

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    def bounds(self) -> tuple[datetime, datetime]:
        """[from, to) in UTC: local midnight of ``start`` up to local midnight after ``end``."""
        first = datetime.combine(self.start, time(0), BERLIN).astimezone(timezone.utc)
        after = datetime.combine(self.end + timedelta(days=1), time(0), BERLIN).astimezone(timezone.utc)
        return first, after


def today_in_berlin(now: datetime | None = None) -> date:
    return (now or datetime.now(timezone.utc)).astimezone(BERLIN).date()


def parse_day(raw: str, label: str) -> date:
    """``2026-11-24`` (what <input type="date"> sends) or ``24.11.2026``."""
    text = raw.strip()
    match = GERMAN_DATE.fullmatch(text)
    try:
        if match:
            day = date(int(match[3]), int(match[2]), int(match[1]))
        elif re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            day = date.fromisoformat(text)
        else:
            raise ValueError(text)
    except ValueError:
        raise RangeError(f"Das {label} „{text[:20]}“ ist kein gültiges Datum. "
                         "Bitte geben Sie es als TT.MM.JJJJ ein.") from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise RangeError(f"Das {label} muss zwischen {FIRST_YEAR} und {LAST_YEAR} liegen.")
    return day


def parse_range(raw_from: str | None, raw_to: str | None, today: date) -> DateRange:
    """The range from the form's ``from``/``to`` fields; empty fields: the last 30 days up to ``today``."""
    end = parse_day(raw_to, "Enddatum") if raw_to and raw_to.strip() else None
    start = parse_day(raw_from, "Startdatum") if raw_from and raw_from.strip() else None
    if end is None:
        # only "from": up to 30 days from there, not beyond today (but at least that one day)
        end = today if start is None else max(start, min(today, start + timedelta(days=DEFAULT_DAYS - 1)))
    if start is None:
        start = end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise RangeError("Das Startdatum liegt nach dem Enddatum. Bitte tauschen Sie die beiden Daten.")
    if (end - start).days + 1 > MAX_DAYS:
        raise RangeError(f"Der Zeitraum darf höchstens {MAX_DAYS} Tage umfassen. Bitte wählen Sie einen "
                         "kürzeren Zeitraum.")
    return DateRange(start, end)


def default_range(today: date) -> DateRange:
    return DateRange(today - timedelta(days=DEFAULT_DAYS - 1), today)


# --- raw figures from the database -------------------------------------------------------------------


@dataclass
class Raw:
    """Counts per UTC hour ("YYYY-MM-DD HH") and per category, as the database gives them."""

    conversations: dict[str, tuple[int, int]] = field(default_factory=dict)  # hour → (started, escalated)
    # hour → (classified user messages, fallbacks, confidence sum, confidence count)
    messages: dict[str, tuple[int, int, float, int]] = field(default_factory=dict)
    top_intents: list[tuple[str, int]] = field(default_factory=list)
    feedback: dict[str, int] = field(default_factory=dict)
    cases_per_unit: list[tuple[str, int]] = field(default_factory=list)


def hour_key(column: Any, dialect: str) -> ColumnElement[str]:
    """The UTC hour of a timestamp column as text "YYYY-MM-DD HH" (literal formats: no bind parameters, so
    PostgreSQL accepts the same expression in SELECT and GROUP BY)."""
    if dialect == "postgresql":
        return func.to_char(func.timezone(literal_column("'UTC'"), column), literal_column("'YYYY-MM-DD HH24'"))
    # SQLite stores UTC as text "YYYY-MM-DD HH:MM:SS.ffffff"
    return func.strftime(literal_column("'%Y-%m-%d %H'"), column)


async def collect(engine: AsyncEngine, period: DateRange) -> Raw:
    """Read the counts for ``period`` (a handful of GROUP BY queries; rows ≤ hours in the range)."""
    first, after = period.bounds()
    dialect = engine.dialect.name
    raw = Raw()

    def within(column: Any) -> ColumnElement[bool]:
        return and_(column >= first, column < after)

    conv_hour = hour_key(Conversation.created, dialect).label("hour")
    has_case = exists().where(Case.session_id == Conversation.session_id)
    conversations = (
        select(conv_hour, func.count(), func.coalesce(func.sum(case((has_case, 1), else_=0)), 0))
        .where(within(Conversation.created)).group_by(conv_hour)
    )
    msg_hour = hour_key(Message.created, dialect).label("hour")
    fallback = Message.intent == FALLBACK_INTENT
    measured = and_(Message.intent != FALLBACK_INTENT, Message.confidence.is_not(None))
    classified = and_(Message.sender == "user", Message.intent.is_not(None), within(Message.created))
    messages = (
        select(msg_hour, func.count(),
               func.coalesce(func.sum(case((fallback, 1), else_=0)), 0),
               func.coalesce(func.sum(case((measured, Message.confidence), else_=0.0)), 0.0),
               func.coalesce(func.sum(case((measured, 1), else_=0)), 0))
        .where(classified).group_by(msg_hour)
    )
    count = func.count().label("n")
    intents = (select(Message.intent, count).where(classified).group_by(Message.intent)
               .order_by(count.desc(), Message.intent).limit(TOP_INTENTS))
    feedback = select(Feedback.rating, func.count()).where(within(Feedback.created)).group_by(Feedback.rating)
    units = (select(Case.unit, count).where(within(Case.created_at)).group_by(Case.unit)
             .order_by(count.desc(), Case.unit))

    async with engine.connect() as conn:
        for hour, started, escalated in await conn.execute(conversations):
            raw.conversations[hour] = (int(started), int(escalated))
        for hour, total, fallbacks, conf_sum, conf_count in await conn.execute(messages):
            raw.messages[hour] = (int(total), int(fallbacks), float(conf_sum), int(conf_count))
        raw.top_intents = [(str(name), int(n)) for name, n in await conn.execute(intents)]
        raw.feedback = {str(rating): int(n) for rating, n in await conn.execute(feedback)}
        raw.cases_per_unit = [(str(unit), int(n)) for unit, n in await conn.execute(units)]
    return raw


# --- figures -------------------------------------------------------------------------------------------


def local_day(hour: str) -> date:
    """The Europe/Berlin day of a UTC hour "YYYY-MM-DD HH"."""
    moment = datetime.strptime(hour, "%Y-%m-%d %H").replace(tzinfo=timezone.utc)
    return moment.astimezone(BERLIN).date()


def ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class Day:
    day: date
    conversations: int = 0
    escalated: int = 0
    user_messages: int = 0
    fallbacks: int = 0
    confidence_sum: float = 0.0
    confidence_count: int = 0

    @property
    def escalation_rate(self) -> float | None:
        return ratio(self.escalated, self.conversations)

    @property
    def fallback_rate(self) -> float | None:
        return ratio(self.fallbacks, self.user_messages)

    @property
    def average_confidence(self) -> float | None:
        return ratio(self.confidence_sum, self.confidence_count)


@dataclass(frozen=True)
class Stats:
    """Everything the dashboard shows for one range (JSON: :func:`as_json`)."""

    period: DateRange
    days: list[Day]
    top_intents: list[tuple[str, int]]
    feedback_up: int
    feedback_down: int
    cases_per_unit: list[tuple[str, int]]

    @property
    def conversations(self) -> int:
        return sum(d.conversations for d in self.days)

    @property
    def escalated(self) -> int:
        return sum(d.escalated for d in self.days)

    @property
    def user_messages(self) -> int:
        return sum(d.user_messages for d in self.days)

    @property
    def fallbacks(self) -> int:
        return sum(d.fallbacks for d in self.days)

    @property
    def escalation_rate(self) -> float | None:
        return ratio(self.escalated, self.conversations)

    @property
    def fallback_rate(self) -> float | None:
        return ratio(self.fallbacks, self.user_messages)

    @property
    def average_confidence(self) -> float | None:
        return ratio(sum(d.confidence_sum for d in self.days), sum(d.confidence_count for d in self.days))

    @property
    def feedback_up_share(self) -> float | None:
        return ratio(self.feedback_up, self.feedback_up + self.feedback_down)

    @property
    def cases(self) -> int:
        return sum(n for _, n in self.cases_per_unit)


def summarise(raw: Raw, period: DateRange) -> Stats:
    """Fold the hourly counts into the range's local days (days without data are zero, not missing)."""
    sums: dict[date, list[float]] = defaultdict(lambda: [0, 0, 0, 0, 0.0, 0])
    for hour, (started, escalated) in raw.conversations.items():
        row = sums[local_day(hour)]
        row[0] += started
        row[1] += escalated
    for hour, (total, fallbacks, conf_sum, conf_count) in raw.messages.items():
        row = sums[local_day(hour)]
        row[2] += total
        row[3] += fallbacks
        row[4] += conf_sum
        row[5] += conf_count
    days = []
    for day in period.days:
        c, e, m, f, s, n = sums.get(day, [0, 0, 0, 0, 0.0, 0])
        days.append(Day(day, int(c), int(e), int(m), int(f), float(s), int(n)))
    return Stats(period, days, list(raw.top_intents), raw.feedback.get("up", 0), raw.feedback.get("down", 0),
                 list(raw.cases_per_unit))


async def dashboard_stats(engine: AsyncEngine, period: DateRange) -> Stats:
    return summarise(await collect(engine, period), period)


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def as_json(stats: Stats, unit_names: dict[str, str]) -> dict[str, Any]:
    """The figures for /ops/api/stats (rates as fractions 0…1, rounded to 4 places; null: nothing to divide)."""
    return {
        "from": stats.period.start.isoformat(),
        "to": stats.period.end.isoformat(),
        "timezone": "Europe/Berlin",
        "totals": {
            "conversations": stats.conversations,
            "escalated_conversations": stats.escalated,
            "escalation_rate": _round(stats.escalation_rate),
            "user_messages": stats.user_messages,
            "fallbacks": stats.fallbacks,
            "fallback_rate": _round(stats.fallback_rate),
            "average_confidence": _round(stats.average_confidence),
            "feedback_up": stats.feedback_up,
            "feedback_down": stats.feedback_down,
            "feedback_up_share": _round(stats.feedback_up_share),
            "cases": stats.cases,
        },
        "days": [
            {"date": d.day.isoformat(), "conversations": d.conversations, "escalated_conversations": d.escalated,
             "escalation_rate": _round(d.escalation_rate), "user_messages": d.user_messages,
             "fallbacks": d.fallbacks, "fallback_rate": _round(d.fallback_rate),
             "average_confidence": _round(d.average_confidence)}
            for d in stats.days
        ],
        "top_intents": [{"intent": name, "count": n} for name, n in stats.top_intents],
        "cases_per_unit": [{"unit": unit, "name": unit_names.get(unit, unit), "count": n}
                           for unit, n in stats.cases_per_unit],
    }


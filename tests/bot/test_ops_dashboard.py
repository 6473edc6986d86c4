"""The operator dashboard (/ops, /ops/api/stats): figures from a seeded database on fixed dates (SQLite and,
when it runs on loopback, PostgreSQL), the rendered page, range validation, access per role, and the SVG
charts and German number formats on their own."""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import date, datetime, timezone
from html import unescape
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot.keys import ENGINE, UNIT_NAMES
from bot.models import Case, Conversation, Feedback, Message
from bot.ops import charts
from bot.ops.dashboard import (
    DateRange,
    RangeError,
    Raw,
    local_day,
    parse_range,
    summarise,
)
from tests.bot.conftest import app_of, throwaway_postgres
from tests.bot.staff_helpers import add_user, login

SVG = "{http://www.w3.org/2000/svg}"
# 27.–30. März 2026: Berlin switches to summer time on the 29th (UTC+1 → UTC+2).
RANGE = {"from": "2026-03-27", "to": "2026-03-30"}
NBSP = "\u00a0"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


# --- database fixtures --------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
async def database_url(request: pytest.FixtureRequest) -> AsyncIterator[str | None]:
    """None (the test app's SQLite file), or a throw-away PostgreSQL database on loopback (skips when no
    server answers, fails then with KRISENLOTSE_REQUIRE_SERVICES=1)."""
    if request.param == "sqlite":
        yield None
        return
    async with throwaway_postgres() as url:
        yield url


@pytest.fixture
async def db_client(database_url: str | None, make_client: Any) -> TestClient:
    """A client of the app on SQLite or on PostgreSQL."""
    return await make_client(database_url=database_url) if database_url else await make_client()


async def seed(client: TestClient) -> None:
    await seed_engine(app_of(client)[ENGINE])


async def seed_engine(engine: AsyncEngine, prefix: str = "s") -> None:
    """Known conversations, messages, ratings and cases around the change to summer time (``prefix``: of the
    session ids and case numbers, so that one database can be seeded twice)."""
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    conversations = {
        "c1": "2026-03-27T22:30:00",  # 23:30 on the 27th in Berlin (UTC+1)
        "c2": "2026-03-27T23:30:00",  # 00:30 on the 28th
        "c3": "2026-03-28T10:00:00",
        "c4": "2026-03-29T22:30:00",  # 00:30 on the 30th (UTC+2)
        "before": "2026-03-26T22:59:00",  # 23:59 on the 26th: outside
        "after": "2026-03-30T22:00:00",  # 00:00 on the 31st: outside
    }
    # (conversation, minute offset, intent, confidence); every conversation also gets a bot answer
    user_messages = [
        ("c1", 1, "greet", 0.9), ("c1", 2, "nlu_fallback", 0.45),
        ("c2", 1, "short_time_work", 0.8), ("c2", 2, "greet", 0.7),
        ("c3", 1, "short_time_work", 0.6), ("c3", 2, "nlu_fallback", 0.45), ("c3", 3, None, None),
        ("c4", 1, "greet", 1.0),
        ("before", 0, "greet", 0.1), ("after", 1, "nlu_fallback", 0.45),
    ]
    ratings = {"c1": "up", "c2": "up", "c3": "down", "before": "down", "after": "up"}
    cases = [("c2", "tax_office", "2026-03-27T23:40:00"), ("c4", "employment_agency", "2026-03-29T22:40:00"),
             ("c4", "employment_agency", "2026-03-29T22:50:00"), ("before", "tax_office", "2026-03-26T22:59:30")]
    async with sessions.begin() as db:
        for name, created in conversations.items():
            db.add(Conversation(session_id=f"{prefix}-{name}", created=utc(created), consent_at=utc(created),
                                last_activity=utc(created)))
        await db.flush()
        for name, minute, intent, confidence in user_messages:
            moment = utc(conversations[name]).replace(minute=(utc(conversations[name]).minute + minute) % 60)
            db.add(Message(conversation=f"{prefix}-{name}", sender="user", text="Frage", intent=intent,
                           confidence=confidence, created=moment))
        for name, rating in ratings.items():
            moment = utc(conversations[name])
            message = Message(conversation=f"{prefix}-{name}", sender="bot", text="Antwort", created=moment)
            db.add(message)
            await db.flush()
            db.add(Feedback(message=message.id, rating=rating, created=moment))
        for index, (name, unit, created) in enumerate(cases):
            db.add(Case(case_number=f"KL-{uuid.uuid4().hex[:4].upper()}-{index:04d}", session_id=f"{prefix}-{name}",
                        unit=unit, priority="normal",
                        trigger="human_handoff", created_at=utc(created), received=utc(created)))


async def as_operator(client: TestClient, role: str = "operator") -> None:
    email = f"{role}-{uuid.uuid4().hex[:6]}@mannheim.de"
    await add_user(client, email, role=role, units=())
    await login(client, email)


def text_of(html: str) -> str:
    """The page's text without tags, whitespace collapsed."""
    return re.sub(r"[ \t\r\n]+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


# --- figures -------------------------------------------------------------------------------------------


async def test_json_figures_for_a_seeded_range(db_client: TestClient) -> None:
    await seed(db_client)
    await as_operator(db_client)
    resp = await db_client.get("/ops/api/stats", params=RANGE)
    assert resp.status == 200, await resp.text()
    assert resp.headers["Cache-Control"] == "no-store"
    body = await resp.json()
    assert body["from"] == "2026-03-27" and body["to"] == "2026-03-30" and body["timezone"] == "Europe/Berlin"
    assert body["totals"] == {
        "conversations": 4, "escalated_conversations": 2, "escalation_rate": 0.5,
        "user_messages": 7, "fallbacks": 2, "fallback_rate": 0.2857,
        "average_confidence": 0.8,
        "feedback_up": 2, "feedback_down": 1, "feedback_up_share": 0.6667,
        "cases": 3,
    }
    days = {d["date"]: d for d in body["days"]}
    assert list(days) == ["2026-03-27", "2026-03-28", "2026-03-29", "2026-03-30"]
    assert [days[d]["conversations"] for d in days] == [1, 2, 0, 1]
    assert [days[d]["escalation_rate"] for d in days] == [0.0, 0.5, None, 1.0]
    assert [days[d]["fallback_rate"] for d in days] == [0.5, 0.25, None, 0.0]
    assert [days[d]["average_confidence"] for d in days] == [0.9, 0.7, None, 1.0]
    assert body["top_intents"] == [{"intent": "greet", "count": 3}, {"intent": "nlu_fallback", "count": 2},
                                   {"intent": "short_time_work", "count": 2}]
    names = app_of(db_client)[UNIT_NAMES]
    assert body["cases_per_unit"] == [
        {"unit": "employment_agency", "name": names["employment_agency"], "count": 2},
        {"unit": "tax_office", "name": names["tax_office"], "count": 1},
    ]


async def test_page_shows_the_figures_charts_and_tables(db_client: TestClient) -> None:
    await seed(db_client)
    await as_operator(db_client)
    resp = await db_client.get("/ops", params=RANGE)
    assert resp.status == 200
    html = await resp.text()
    text = text_of(html)
    assert "Zeitraum: vom 27.03.2026 bis 30.03.2026" in text
    for label, value in [("Gespräche", "4"), ("Eskalationsquote", f"50{NBSP}%"),
                         ("Fallback-Quote", f"28,6{NBSP}%"), ("Bewertungen 👍/👎", "2 / 1"), ("Fälle", "3"),
                         ("Durchschnittliche Konfidenz", "0,80")]:
        assert f"<dt>{label}</dt><dd>{value}</dd>" in html, label
    # seven charts, each an accessible image with a title and a description, and valid SVG
    svgs = re.findall(r"<svg .*?</svg>", html, re.S)
    assert len(svgs) == 7
    for svg in svgs:
        root = ET.fromstring(svg)  # noqa: S314 - our own page
        assert root.get("role") == "img"
        title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
        assert title is not None and desc is not None and desc.text
        assert root.get("aria-labelledby") == title.get("id") and root.get("aria-describedby") == desc.get("id")
    assert html.count("<summary>Zahlen als Tabelle</summary>") == 7
    assert "Keine Daten im gewählten Zeitraum" not in html
    # the tables carry the same figures as the charts
    assert '<tr><th scope="row">28.03.2026</th><td class="num">2</td></tr>' in html
    assert '<tr><th scope="row">29.03.2026</th><td class="num">0</td></tr>' in html
    assert f'<tr><th scope="row">28.03.2026</th><td class="num">25{NBSP}%</td></tr>' in html
    assert '<tr><th scope="row">nlu_fallback (nicht verstanden)</th><td class="num">2</td></tr>' in html
    assert '<tr><th scope="row">👎 Nicht hilfreich</th><td class="num">1</td></tr>' in html
    assert '<tr><th scope="row">30.03.2026</th><td class="num">1,00</td></tr>' in html
    names = app_of(db_client)[UNIT_NAMES]
    assert f'<th scope="row">{names["employment_agency"]}</th><td class="num">2</td>' in unescape(html)
    # descriptions say the figures in words; tool-tips name day and value
    assert "insgesamt 4; die meisten am 28.03.2026 mit 2" in text
    assert "<title>28.03.2026: 2 Gespräche</title>" in html
    assert f"66,7{NBSP}% hilfreich" in text
    # the JSON link carries the same range
    assert 'href="/ops/api/stats?from=2026-03-27&amp;to=2026-03-30"' in html


async def test_an_empty_range_shows_empty_states(db_client: TestClient) -> None:
    await seed(db_client)
    await as_operator(db_client)
    resp = await db_client.get("/ops", params={"from": "2025-01-01", "to": "2025-01-05"})
    assert resp.status == 200
    html = await resp.text()
    assert html.count("Keine Daten im gewählten Zeitraum") == 7
    assert "<svg" not in html
    assert "<dt>Gespräche</dt><dd>0</dd>" in html and "<dt>Eskalationsquote</dt><dd>–</dd>" in html
    body = await (await db_client.get("/ops/api/stats", params={"from": "2025-01-01", "to": "2025-01-05"})).json()
    assert body["totals"]["conversations"] == 0 and body["totals"]["fallback_rate"] is None
    assert len(body["days"]) == 5 and body["top_intents"] == [] and body["cases_per_unit"] == []


async def test_default_range_is_the_last_30_days(client: TestClient) -> None:
    await as_operator(client)
    html = await (await client.get("/ops")).text()
    today = datetime.now(timezone.utc).astimezone(ZoneInfo("Europe/Berlin")).date()
    start = date.fromordinal(today.toordinal() - 29)
    assert f'name="to" type="date" value="{today.isoformat()}"' in html
    assert f'name="from" type="date" value="{start.isoformat()}"' in html
    body = await (await client.get("/ops/api/stats")).json()
    assert body["to"] == today.isoformat() and len(body["days"]) == 30


@pytest.mark.parametrize(("query", "message"), [
    ({"from": "2026-13-01", "to": "2026-12-31"}, "kein gültiges Datum"),
    ({"from": "gestern", "to": ""}, "kein gültiges Datum"),
    ({"from": "2026-03-30", "to": "2026-03-01"}, "Startdatum liegt nach dem Enddatum"),
    ({"from": "2025-01-01", "to": "2026-01-02"}, "höchstens 366 Tage"),
    ({"from": "1999-12-31", "to": "2000-01-02"}, "zwischen 2000 und 2099"),
])
async def test_bad_ranges_get_a_friendly_message(client: TestClient, query: dict[str, str], message: str) -> None:
    await as_operator(client)
    resp = await client.get("/ops", params=query)
    assert resp.status == 400
    html = await resp.text()
    assert re.search(r'<p class="error" role="alert">[^<]*' + re.escape(message), html), html[:2000]
    assert 'aria-invalid="true"' in html and "<svg" not in html
    # the entered values stay in the form (escaped)
    assert f'value="{query["from"]}"' in html
    api = await client.get("/ops/api/stats", params=query)
    assert api.status == 400
    error = (await api.json())["error"]
    assert error["code"] == "invalid_range" and message in error["message"]


async def test_form_values_are_escaped(client: TestClient) -> None:
    await as_operator(client)
    html = await (await client.get("/ops", params={"from": '"><script>x', "to": ""})).text()
    assert "<script>x" not in html and "&#34;&gt;&lt;script&gt;x" in html


async def test_a_full_year_and_german_dates_are_accepted(client: TestClient) -> None:
    await as_operator(client)
    body = await (await client.get("/ops/api/stats", params={"from": "01.01.2024", "to": "31.12.2024"})).json()
    assert body["from"] == "2024-01-01" and len(body["days"]) == 366


# --- access ----------------------------------------------------------------------------------------------


async def test_staff_gets_403_and_anonymous_goes_to_login(client: TestClient) -> None:
    resp = await client.get("/ops", params=RANGE, allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"].startswith("/login?next=")
    assert (await client.get("/ops/api/stats", allow_redirects=False)).status == 401
    await add_user(client, "sachbearbeitung@mannheim.de", role="staff")
    await login(client, "sachbearbeitung@mannheim.de")
    assert (await client.get("/ops")).status == 403
    assert (await client.get("/ops/api/stats")).status == 403


@pytest.mark.parametrize("role", ["operator", "admin"])
async def test_operators_and_admins_get_the_dashboard(client: TestClient, role: str) -> None:
    await as_operator(client, role)
    resp = await client.get("/ops")
    assert resp.status == 200
    html = await resp.text()
    assert "<h1>Übersicht</h1>" in html and '<a href="/ops" aria-current="page">' in html
    assert '<link rel="stylesheet" href="/static/ops-dashboard.css">' in html
    assert "<script>" not in html  # the CSP allows no inline scripts; the charts need none
    css = await client.get("/static/ops-dashboard.css")
    assert css.status == 200


# --- pure functions -----------------------------------------------------------------------------------


def test_parse_range_defaults_and_limits() -> None:
    today = date(2026, 11, 24)
    assert parse_range(None, None, today) == DateRange(date(2026, 10, 26), today)
    assert parse_range("", "2026-03-30", today) == DateRange(date(2026, 3, 1), date(2026, 3, 30))
    assert parse_range("2026-11-20", "", today) == DateRange(date(2026, 11, 20), today)
    assert parse_range("24.11.2025", "24.11.2026", today).days[-1] == today
    with pytest.raises(RangeError, match="366"):
        parse_range("23.11.2025", "24.11.2026", today)


def test_local_days_follow_berlin_time() -> None:
    assert local_day("2026-03-27 22") == date(2026, 3, 27)  # 23:00 CET
    assert local_day("2026-03-27 23") == date(2026, 3, 28)  # 00:00 CET
    assert local_day("2026-03-29 21") == date(2026, 3, 29)  # 23:00 CEST
    assert local_day("2026-03-29 22") == date(2026, 3, 30)  # 00:00 CEST
    period = DateRange(date(2026, 3, 29), date(2026, 3, 29))
    first, after = period.bounds()
    assert (first, after) == (utc("2026-03-28T23:00:00"), utc("2026-03-29T22:00:00"))  # a 23-hour day
    stats = summarise(Raw(conversations={"2026-03-28 23": (2, 1), "2026-03-29 21": (1, 0)}), period)
    assert [(d.conversations, d.escalated) for d in stats.days] == [(3, 1)]


def test_german_number_formats() -> None:
    assert charts.fmt_int(1234567) == "1.234.567"
    assert charts.fmt_decimal(0.85) == "0,85"
    assert charts.fmt_decimal(1234.5, 1) == "1.234,5"
    assert charts.fmt_percent(0.85) == f"85{NBSP}%"
    assert charts.fmt_percent(0.125) == f"12,5{NBSP}%"
    assert charts.fmt_percent(2 / 7) == f"28,6{NBSP}%"
    assert charts.fmt_percent(None) == charts.fmt_decimal(None) == "–"
    assert charts.fmt_date(date(2026, 3, 7)) == "07.03.2026" and charts.fmt_day(date(2026, 3, 7)) == "07.03."
    assert [charts.nice_ceiling(v) for v in (0, 0.3, 3, 7, 12, 26, 900)] == [1, 0.5, 5, 10, 20, 50, 1000]
    assert [charts.tick_count(v) for v in (1, 0.5, 4, 20, 25, 1000)] == [5, 5, 4, 4, 5, 5]


def test_charts_are_valid_svg_and_escape_labels() -> None:
    points = [charts.Point('<script>"x"</script>', "A & B", 3), charts.Point("b", "b", 0)]
    for svg in (charts.bar_chart("t1", "Titel <i>", "Beschreibung & mehr", points, str),
                charts.column_chart("t2", "Titel", "Beschreibung", points, str),
                charts.line_chart("t3", "Titel", "Beschreibung",
                                  [*points, charts.Point("c", "c", None), charts.Point("d", "d", 1)], str)):
        root = ET.fromstring(str(svg))  # noqa: S314 - well-formed: nothing unescaped got in
        assert root.get("role") == "img"
        assert "<script>" not in svg and "<i>" not in svg
        assert root.find(f"{SVG}title") is not None
        # colours of graphical objects: only the ones documented with ≥ 3:1 contrast on white (or the grid)
        colours = {el.get("fill") for el in root.iter() if el.tag in (f"{SVG}rect", f"{SVG}circle")}
        colours |= {el.get("stroke") for el in root.iter() if el.tag == f"{SVG}polyline"}
        assert colours <= {charts.BLUE, charts.ORANGE}


@pytest.mark.parametrize("colour", [charts.BLUE, charts.ORANGE, charts.PURPLE, charts.GREEN, charts.RED, charts.AXIS])
def test_chart_colours_have_3_to_1_contrast_on_white(colour: str) -> None:
    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    assert (1.05) / (luminance(colour) + 0.05) >= 3.0

"""Routes of the operator dashboard: the page ``/ops`` (charts and tables) and ``/ops/api/stats`` (JSON).

Both take the range as ``?from=YYYY-MM-DD&to=YYYY-MM-DD`` (local days in Europe/Berlin, both included;
default: the last 30 days, at most 366 days). Access: operators and admins (bot.console.auth_middleware).
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from bot.console import render
from bot.keys import ENGINE, UNIT_NAMES
from bot.middleware import json_error
from bot.ops import charts
from bot.ops.charts import Chart, Point, fmt_date, fmt_day, fmt_decimal, fmt_int, fmt_percent
from bot.ops.dashboard import (
    FALLBACK_INTENT,
    MAX_DAYS,
    DateRange,
    RangeError,
    Stats,
    as_json,
    dashboard_stats,
    parse_range,
    today_in_berlin,
)

INTENT_LABELS = {FALLBACK_INTENT: "nlu_fallback (nicht verstanden)"}


def _count(singular: str, plural: str) -> Callable[[float], str]:
    return lambda v: f"{fmt_int(int(v))} {singular if int(v) == 1 else plural}"


def _span(period: DateRange) -> str:
    return f"vom {fmt_date(period.start)} bis {fmt_date(period.end)}"


def _peak(stats: Stats) -> str:
    best = max(stats.days, key=lambda d: d.conversations)
    return f"; die meisten am {fmt_date(best.day)} mit {fmt_int(best.conversations)}"


def _rate_chart(chart_id: str, title: str, stats: Stats, values: list[float | None], total: float | None,
                what: str, colour: str = charts.ORANGE) -> Chart:
    points = [Point(fmt_day(d.day), fmt_date(d.day), v) for d, v in zip(stats.days, values, strict=True)]
    known = [v for v in values if v is not None]
    rows = [(fmt_date(d.day), fmt_percent(v)) for d, v in zip(stats.days, values, strict=True) if v is not None]
    if not known:
        return Chart(chart_id, title, "", None, ("Tag", title))
    description = (f"Liniendiagramm: {what} pro Tag {_span(stats.period)}; insgesamt {fmt_percent(total)}, "
                   f"zwischen {fmt_percent(min(known))} und {fmt_percent(max(known))}.")
    y_max = charts.nice_ceiling(max(known)) if max(known) < 0.5 else 1.0
    svg = charts.line_chart(chart_id, title, description, points, fmt_percent, y_max=y_max, colour=colour)
    return Chart(chart_id, title, description, svg, ("Tag", title), rows, f"insgesamt {fmt_percent(total)}")


def build_charts(stats: Stats, unit_names: dict[str, str]) -> list[Chart]:
    """The seven charts of the dashboard, each with its table rows, from ``stats``."""
    span = _span(stats.period)
    result: list[Chart] = []

    title = "Gespräche pro Tag"
    per_day = [Point(fmt_day(d.day), fmt_date(d.day), d.conversations) for d in stats.days]
    conversations = _count("Gespräch", "Gespräche")
    if stats.conversations:
        desc = f"Säulendiagramm: Gespräche pro Tag {span}; insgesamt {fmt_int(stats.conversations)}{_peak(stats)}."
        result.append(Chart("gespraeche", title, desc, charts.column_chart("gespraeche", title, desc, per_day,
                                                                            conversations),
                            ("Tag", "Gespräche"), [(fmt_date(d.day), fmt_int(d.conversations)) for d in stats.days],
                            f"insgesamt {fmt_int(stats.conversations)}"))
    else:
        result.append(Chart("gespraeche", title, "", None, ("Tag", "Gespräche")))

    title = "Häufigste Absichten"
    messages = _count("Nachricht", "Nachrichten")
    if stats.top_intents:
        names = [(INTENT_LABELS.get(name, name), n) for name, n in stats.top_intents]
        desc = (f"Balkendiagramm: die {len(names)} häufigsten erkannten Absichten {span}: "
                + "; ".join(f"{name} {fmt_int(n)}" for name, n in names) + ".")
        points = [Point(name, name, n) for name, n in names]
        result.append(Chart("absichten", title, desc, charts.bar_chart("absichten", title, desc, points, messages),
                            ("Absicht", "Nachrichten"), [(name, fmt_int(n)) for name, n in names]))
    else:
        result.append(Chart("absichten", title, "", None, ("Absicht", "Nachrichten")))

    result.append(_rate_chart("fallback", "Fallback-Quote", stats, [d.fallback_rate for d in stats.days],
                              stats.fallback_rate, "Anteil der nicht verstandenen Nachrichten (nlu_fallback)"))
    result.append(_rate_chart("eskalation", "Eskalationsquote", stats, [d.escalation_rate for d in stats.days],
                              stats.escalation_rate, "Anteil der Gespräche mit einem Fall", charts.RED))

    title = "Bewertungen 👍/👎"
    votes = _count("Bewertung", "Bewertungen")
    if stats.feedback_up + stats.feedback_down:
        share = fmt_percent(stats.feedback_up_share)
        desc = (f"Balkendiagramm: Bewertungen der Antworten {span}: {fmt_int(stats.feedback_up)} hilfreich (👍), "
                f"{fmt_int(stats.feedback_down)} nicht hilfreich (👎); {share} hilfreich.")
        # words on the axis: not every system has an emoji font (the table shows both)
        points = [Point("Hilfreich", "Hilfreich", stats.feedback_up),
                  Point("Nicht hilfreich", "Nicht hilfreich", stats.feedback_down)]
        result.append(Chart("bewertungen", title, desc,
                            charts.bar_chart("bewertungen", title, desc, points, votes, (charts.GREEN, charts.RED)),
                            ("Bewertung", "Anzahl"),
                            [("👍 Hilfreich", fmt_int(stats.feedback_up)),
                             ("👎 Nicht hilfreich", fmt_int(stats.feedback_down))],
                            f"{share} hilfreich"))
    else:
        result.append(Chart("bewertungen", title, "", None, ("Bewertung", "Anzahl")))

    title = "Fälle pro Stelle"
    cases = _count("Fall", "Fälle")
    if stats.cases_per_unit:
        names = [(unit_names.get(unit, unit), n) for unit, n in stats.cases_per_unit]
        desc = (f"Balkendiagramm: Fälle pro Stelle {span}, insgesamt {fmt_int(stats.cases)}: "
                + "; ".join(f"{name} {fmt_int(n)}" for name, n in names) + ".")
        points = [Point(name, name, n) for name, n in names]
        result.append(Chart("faelle", title, desc, charts.bar_chart("faelle", title, desc, points, cases),
                            ("Stelle", "Fälle"), [(name, fmt_int(n)) for name, n in names],
                            f"insgesamt {fmt_int(stats.cases)}"))
    else:
        result.append(Chart("faelle", title, "", None, ("Stelle", "Fälle")))

    title = "Durchschnittliche Konfidenz"
    values = [d.average_confidence for d in stats.days]
    known = [v for v in values if v is not None]
    if known:
        desc = (f"Liniendiagramm: durchschnittliche Konfidenz der erkannten Absicht pro Tag {span} "
                f"(ohne nlu_fallback); insgesamt {fmt_decimal(stats.average_confidence)}, zwischen "
                f"{fmt_decimal(min(known))} und {fmt_decimal(max(known))}.")
        points = [Point(fmt_day(d.day), fmt_date(d.day), v) for d, v in zip(stats.days, values, strict=True)]
        svg = charts.line_chart("konfidenz", title, desc, points, fmt_decimal, y_max=1.0, colour=charts.PURPLE)
        rows = [(fmt_date(d.day), fmt_decimal(v)) for d, v in zip(stats.days, values, strict=True) if v is not None]
        result.append(Chart("konfidenz", title, desc, svg, ("Tag", "Konfidenz"), rows,
                            f"im Mittel {fmt_decimal(stats.average_confidence)}"))
    else:
        result.append(Chart("konfidenz", title, "", None, ("Tag", "Konfidenz")))
    return result


def key_figures(stats: Stats) -> list[tuple[str, str]]:
    return [
        ("Gespräche", fmt_int(stats.conversations)),
        ("Eskalationsquote", fmt_percent(stats.escalation_rate)),
        ("Fallback-Quote", fmt_percent(stats.fallback_rate)),
        ("Bewertungen 👍/👎", f"{fmt_int(stats.feedback_up)} / {fmt_int(stats.feedback_down)}"),
        ("Fälle", fmt_int(stats.cases)),
        ("Durchschnittliche Konfidenz", fmt_decimal(stats.average_confidence)),
    ]


async def dashboard_page(request: web.Request) -> web.Response:
    raw_from, raw_to = request.query.get("from", ""), request.query.get("to", "")
    today = today_in_berlin()
    try:
        period = parse_range(raw_from, raw_to, today)
    except RangeError as exc:
        return render(request, "ops/dashboard.html", 400, ops_section="dashboard", error=str(exc),
                      range_error=True, form={"from": raw_from[:20], "to": raw_to[:20]},
                      max_days=MAX_DAYS, charts=[], figures=[], period=None)
    stats = await dashboard_stats(request.app[ENGINE], period)
    return render(request, "ops/dashboard.html", ops_section="dashboard", error=None, range_error=False,
                  form={"from": period.start.isoformat(), "to": period.end.isoformat()}, max_days=MAX_DAYS,
                  period_text=_span(period), charts=build_charts(stats, request.app[UNIT_NAMES]),
                  figures=key_figures(stats), period=period)


async def stats_api(request: web.Request) -> web.Response:
    try:
        period = parse_range(request.query.get("from"), request.query.get("to"), today_in_berlin())
    except RangeError as exc:
        return json_error(400, "invalid_range", str(exc))
    stats = await dashboard_stats(request.app[ENGINE], period)
    return web.json_response(as_json(stats, request.app[UNIT_NAMES]), headers={"Cache-Control": "no-store"})


def setup_dashboard_routes(app: web.Application) -> None:
    app.router.add_get("/ops", dashboard_page, name="ops_dashboard")
    app.router.add_get("/ops/api/stats", stats_api, name="ops_api_stats")

"""Cases for the web app (docs/escalation-contract.md): case numbers and the JSON body of a case."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from actions.contactinfo import CHANNELS
from actions.directory import Directory, Unit, local
from actions.routing import RoutingTable
from actions.servicelevel import promised_response_by
from actions.urgency import merge

#: No 0/O, 1/I: the number is read out on the phone and typed from a screen.
CASE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CASE_NUMBER = re.compile(r"KL-[23456789A-HJ-NP-Z]{4}-[23456789A-HJ-NP-Z]{4}")
TRIGGERS: tuple[str, ...] = ("human_handoff", "misunderstanding", "feedback", "urgent")
PRIORITIES: tuple[str, ...] = ("high", "normal")


def new_case_number() -> str:
    """'KL-' + 8 random characters of CASE_ALPHABET in two groups, e.g. 'KL-7H3K-Q9PX'."""
    chars = "".join(secrets.choice(CASE_ALPHABET) for _ in range(8))
    return f"KL-{chars[:4]}-{chars[4:]}"


def is_case_number(value: object) -> bool:
    return isinstance(value, str) and CASE_NUMBER.fullmatch(value) is not None


def contact_channel(slots: Mapping[str, Any]) -> str:
    """The channel the user chose, or the only one they gave (e-mail only -> 'email')."""
    chosen = slots.get("preferred_channel")
    if chosen in CHANNELS:
        return str(chosen)
    email, phone = slots.get("contact_email"), slots.get("contact_phone")
    if email and not phone:
        return "email"
    if phone and not email:
        return "phone"
    return "any"


def receiving_unit(directory: Directory, routing: RoutingTable, unit_id: str) -> Unit:
    """The office that works the case in the staff console: the routed office if it works cases there,
    else the coordinating office (routing's default unit, the Wirtschaftsförderung) that forwards it."""
    unit = directory.get(unit_id)
    return unit if unit.handles_cases else directory.get(routing.default_unit)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment is not None else None


def case_from_slots(
    slots: Mapping[str, Any],
    *,
    case_number: str,
    session_id: str,
    at: datetime,
    directory: Directory,
    routing: RoutingTable,
) -> dict[str, Any]:
    """The body of ``POST /internal/v1/cases`` for a filled escalation form."""
    found = routing.route("human_handoff", slots)  # current topic's office, else the default unit
    unit = receiving_unit(directory, routing, found.primary)
    secondary = [uid for uid in (found.primary, *found.secondary) if uid != unit.id]
    signals = merge(slots.get("urgent_signals"), [])
    trigger = slots.get("case_trigger")
    if trigger not in TRIGGERS:
        trigger = "human_handoff"
    priority = "high" if slots.get("case_priority") == "high" or signals else "normal"
    created = local(at)
    return {
        "case_number": case_number,
        "session_id": session_id,
        "unit": unit.id,
        "secondary_units": secondary,
        "topic": found.topic,
        "priority": priority,
        "trigger": trigger,
        "urgent_signals": signals,
        "contact": {
            "name": slots.get("contact_name"),
            "company": slots.get("contact_company"),
            "email": slots.get("contact_email"),
            "phone": slots.get("contact_phone"),
            "preferred_channel": contact_channel(slots),
            "consent": True,
        },
        "description": slots.get("case_description"),
        "expected_response_by": _iso(promised_response_by(unit, created)),
        "created_at": created.isoformat(timespec="seconds"),
    }

"""Cases handed over by the action server (docs/escalation-contract.md) and their history.

Every read for the console goes through :meth:`CaseStore.visible` / :meth:`CaseStore.get`, which scope the
query to the user's units (admins and operators see all units); another unit's case is simply not found.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Text, cast, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot.auth import StaffUser
from bot.models import CASE_STATUSES, Case, CaseEvent, Message, utcnow

STATUS_LABELS = {
    "new": "Neu",
    "in_progress": "In Bearbeitung",
    "waiting_for_customer": "Wartet auf Rückmeldung",
    "resolved": "Erledigt",
}
PRIORITY_LABELS = {"high": "Hoch", "normal": "Normal"}


@dataclass(frozen=True)
class NewCase:
    case_number: str
    session_id: str
    unit: str
    secondary_units: list[str]
    topic: str | None
    priority: str
    trigger: str
    urgent_signals: list[str]
    contact: dict[str, Any]
    description: str | None
    expected_response_by: str | None
    created_at: datetime


def case_summary(case: Case) -> dict[str, Any]:
    """What the queue shows and sends live (no contact details but the company)."""
    return {
        "case_number": case.case_number, "unit": case.unit, "status": case.status, "priority": case.priority,
        "topic": case.topic, "trigger": case.trigger, "live": case.live, "live_requested": case.live_requested,
        "company": (case.contact or {}).get("company") if isinstance(case.contact, dict) else None,
        "received": case.received.isoformat() if case.received else None,
        "assignee_id": case.assignee_id,
    }


class CaseStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)

    # --- from the action server ---------------------------------------------------------------------

    async def create(self, new: NewCase) -> tuple[Case, bool]:
        """Store the case; (case, False) if the case number is known already (a retry)."""
        async with self.sessions() as db:
            existing = await db.get(Case, new.case_number)
            if existing is not None:
                return existing, False
        now = utcnow()
        case = Case(case_number=new.case_number, session_id=new.session_id, unit=new.unit,
                    secondary_units=new.secondary_units, topic=new.topic, priority=new.priority,
                    trigger=new.trigger, urgent_signals=new.urgent_signals, contact=new.contact,
                    description=new.description, expected_response_by=new.expected_response_by,
                    created_at=new.created_at, received=now, status="new", live=False, live_requested=False,
                    updated=now)
        try:
            async with self.sessions.begin() as db:
                db.add(case)
                db.add(CaseEvent(case_number=new.case_number, kind="created", actor="Krisenlotse",
                                 to_unit=new.unit, detail=new.trigger, at=now))
        except IntegrityError:  # a parallel retry stored it first
            async with self.sessions() as db:
                return await db.get(Case, new.case_number), False
        return case, True

    async def request_live(self, case_number: str) -> Case | None:
        async with self.sessions.begin() as db:
            case = await db.get(Case, case_number)
            if case is None:
                return None
            if not case.live_requested:
                case.live_requested = True
                case.updated = utcnow()
                db.add(CaseEvent(case_number=case_number, kind="live_requested", actor="Krisenlotse",
                                 at=utcnow()))
            return case

    async def live_case(self, session_id: str) -> Case | None:
        """The case of this conversation that staff have taken over live, if any.

        Asked for every chat message: a plain indexed look-up first, the whole case only when there is one."""
        async with self.engine.connect() as conn:
            number = await conn.scalar(select(Case.case_number).where(Case.session_id == session_id,
                                                                      Case.live.is_(True)).limit(1))
        if number is None:
            return None
        async with self.sessions() as db:
            return await db.get(Case, number)

    # --- console reads --------------------------------------------------------------------------------

    @staticmethod
    def _scoped(query: Select, user: StaffUser) -> Select:
        if user.sees_all_units():
            return query
        return query.where(Case.unit.in_(sorted(user.units)))

    async def get(self, user: StaffUser, case_number: str) -> Case | None:
        async with self.sessions() as db:
            return await db.scalar(self._scoped(select(Case).where(Case.case_number == case_number), user))

    async def visible(self, user: StaffUser, unit: str | None = None, status: str | None = None,
                      search: str | None = None, limit: int = 300) -> list[Case]:
        query = self._scoped(select(Case), user)
        if unit:
            query = query.where(Case.unit == unit)
        if status in CASE_STATUSES:
            query = query.where(Case.status == status)
        elif status != "all":
            query = query.where(Case.status != "resolved")
        if search:
            pattern = f"%{search.strip().lower()}%"
            text_match = select(Message.conversation).where(func.lower(Message.text).like(pattern))
            query = query.where(or_(
                func.lower(Case.case_number).like(pattern),
                func.lower(func.coalesce(Case.description, "")).like(pattern),
                func.lower(func.coalesce(Case.topic, "")).like(pattern),
                func.lower(cast(Case.contact, Text)).like(pattern),
                Case.session_id.in_(text_match),
            ))
        query = query.order_by((Case.priority == "high").desc(), Case.received).limit(limit)
        async with self.sessions() as db:
            return list(await db.scalars(query))

    async def events(self, case_number: str) -> list[CaseEvent]:
        async with self.sessions() as db:
            return list(await db.scalars(select(CaseEvent).where(CaseEvent.case_number == case_number)
                                         .order_by(CaseEvent.at, CaseEvent.id)))

    async def units_of_sessions(self, session_ids: Sequence[str]) -> dict[str, str]:
        async with self.sessions() as db:
            rows = await db.execute(select(Case.session_id, Case.unit).where(Case.session_id.in_(session_ids)))
            return {r.session_id: r.unit for r in rows}

    # --- console changes (the caller has checked the permission) ----------------------------------------

    async def change(self, case_number: str, user: StaffUser, kind: str, *, status: str | None = None,
                     assignee_id: int | None | bool = False, unit: str | None = None, live: bool | None = None,
                     reason: str | None = None, detail: str | None = None, outcome: str | None = None,
                     first_response: bool = False) -> Case | None:
        """Apply one change and record it in the case's history."""
        now = utcnow()
        async with self.sessions.begin() as db:
            case = await db.get(Case, case_number)
            if case is None:
                return None
            event = CaseEvent(case_number=case_number, kind=kind, user_id=user.id, actor=user.name,
                              reason=reason, detail=detail, at=now)
            if status is not None:
                event.detail = detail or status
                case.status = status
                if status == "resolved":
                    case.resolved_at = now
                    case.outcome = outcome
                    case.live = False
                else:
                    case.resolved_at = None
            if assignee_id is not False:
                case.assignee_id = assignee_id  # type: ignore[assignment]
            if unit is not None and unit != case.unit:
                event.from_unit, event.to_unit = case.unit, unit
                case.unit = unit
                case.assignee_id = None
                case.live = False
            if live is not None:
                case.live = live
            if first_response and case.first_response_at is None:
                case.first_response_at = now
            case.updated = now
            db.add(event)
            return case

    async def delete(self, case_number: str) -> Case | None:
        async with self.sessions.begin() as db:
            case = await db.get(Case, case_number)
            if case is None:
                return None
            await db.execute(delete(CaseEvent).where(CaseEvent.case_number == case_number))
            await db.delete(case)
            return case

    async def delete_for_session(self, session_id: str) -> list[str]:
        async with self.sessions.begin() as db:
            numbers = list(await db.scalars(select(Case.case_number).where(Case.session_id == session_id)))
            if numbers:
                await db.execute(delete(CaseEvent).where(CaseEvent.case_number.in_(numbers)))
                await db.execute(delete(Case).where(Case.case_number.in_(numbers)))
            return numbers

    async def purge_resolved(self, before: datetime) -> list[str]:
        """Delete cases resolved before ``before``; returns their numbers."""
        async with self.sessions.begin() as db:
            numbers = list(await db.scalars(select(Case.case_number).where(
                Case.status == "resolved", Case.resolved_at < before)))
            if numbers:
                await db.execute(delete(CaseEvent).where(CaseEvent.case_number.in_(numbers)))
                await db.execute(delete(Case).where(Case.case_number.in_(numbers)))
            return numbers

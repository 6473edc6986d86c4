"""Fixtures for the action tests: fixed clock, tracker factory, copies of the data files."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker

from actions import clock
from actions.directory import berlin

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
DATA_FILES = ("contacts.yml", "routing.yml", "answers.yml")

#: Tuesday, 15.12.2026, 10:00 in Mannheim: a working day, a week after the content research of 08.12.2026
#: (no source lies in the future), inside the hours of tests/actions/synthetic.py (WIFOE_HOURS: open until
#: 12:00; WEEKDAY_HOURS: until 18:00). It says nothing about data/contacts.yml: most of its units have no
#: sourced hours, so their cards show no open/closed status at all.
OPEN_TIME = datetime(2026, 12, 15, 10, 0, tzinfo=berlin())


@pytest.fixture
def fixed_now(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    """Freeze actions.clock.now (default: OPEN_TIME); call the fixture to move the clock."""
    current = {"at": OPEN_TIME}
    monkeypatch.setattr(clock, "now", lambda: current["at"])

    def move(at: datetime) -> None:
        current["at"] = at

    return move


@pytest.fixture
def make_tracker() -> Callable[..., Tracker]:
    """Factory for real rasa_sdk Trackers (see build_tracker)."""
    return build_tracker


#: Slots of the escalation feature (domain.yml), empty in a new conversation.
ESCALATION_SLOTS: tuple[str, ...] = (
    "contact_name",
    "contact_company",
    "contact_email",
    "contact_phone",
    "case_description",
    "preferred_channel",
    "contact_consent",
    "escalation_skipped",
    "case_priority",
    "case_trigger",
    "urgent_signals",
    "case_number",
    "case_unit",
    "requested_slot",
)


def user_event(intent: str, entities: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "event": "user",
        "timestamp": None,
        "text": f"/{intent}",
        "parse_data": {"intent": {"name": intent, "confidence": 1.0}, "entities": entities or []},
    }


def slot_event(name: str, value: Any) -> dict[str, Any]:
    return {"event": "slot", "timestamp": None, "name": name, "value": value}


def build_tracker(
    intent: str,
    slots: dict[str, Any] | None = None,
    *,
    events: list[dict[str, Any]] | None = None,
    ranking: list[dict[str, Any]] | None = None,
    entities: list[dict[str, Any]] | None = None,
    text: str = "",
    active_loop: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    sender_id: str = "test-user",
) -> Tracker:
    """A real rasa_sdk Tracker as the action server would build it."""
    all_slots: dict[str, Any] = {
        "industry": None,
        "employees": None,
        "district": None,
        "email": None,
        "phone": None,
        "person_name": None,
        "company_name": None,
        "tax_type": None,
        "current_topic": None,
        "misunderstandings": 0.0,
        **dict.fromkeys(ESCALATION_SLOTS),
    }
    all_slots.update(slots or {})
    latest = {
        "intent": {"name": intent, "confidence": 0.9},
        "intent_ranking": ranking if ranking is not None else [{"name": intent, "confidence": 0.9}],
        "entities": entities or [],
        "text": text or f"/{intent}",
        "metadata": metadata or {},
    }
    return Tracker(
        sender_id=sender_id,
        slots=all_slots,
        latest_message=latest,
        events=events if events is not None else [user_event(intent, entities)],
        paused=False,
        followup_action=None,
        active_loop=active_loop or {},
        latest_action_name="action_listen",
    )


@pytest.fixture
def synthetic_contacts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Path]:
    """Make the actions read a synthetic contacts.yml (tests/actions/synthetic.py) instead of data/'s.

    ``use({"business_development": {"opening_hours": WIFOE_HOURS}})`` writes it (every value sourced) and
    points actions.directory / actions.routing at it; routing.yml and answers.yml stay the real ones.
    """
    from actions import directory, routing
    from tests.actions.synthetic import write_contacts

    def use(changes: dict[str, dict[str, Any]] | None = None) -> Path:
        folder = tmp_path / "synthetic"
        folder.mkdir(exist_ok=True)
        path = write_contacts(folder / "contacts.yml", changes)
        monkeypatch.setattr(directory, "CONTACTS_FILE", path)
        monkeypatch.setattr(routing, "CONTACTS_FILE", path)
        return path

    return use


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A directory with copies of contacts.yml, routing.yml and answers.yml to break."""
    for name in DATA_FILES:
        shutil.copy(DATA / name, tmp_path / name)
    return tmp_path


# --- escalation: a stand-in for the web app's internal API (docs/escalation-contract.md) ---------


def free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


INTERNAL_TOKEN = "internal-test-token-7Qx"  # noqa: S105 - throwaway token for the tests


class FakeWebApp:
    """A real aiohttp server on loopback answering like the web app's internal API.

    ``case_status`` forces the status of ``POST /internal/v1/cases`` (e.g. 503, 400); otherwise a new
    case gets 201 and a known one 200 (idempotent). Every request is recorded with its headers and body.
    """

    def __init__(self, port: int | None = None, token: str = INTERNAL_TOKEN) -> None:
        self.port = port or free_port()
        self.token = token
        self.url = f"http://127.0.0.1:{self.port}"
        self.requests: list[dict[str, Any]] = []
        self.cases: dict[str, dict[str, Any]] = {}
        self.case_status: int | None = None
        self.staff_online: Any = 0
        self.availability_status = 200
        self.live_status = 201
        self._runner: Any = None

    async def _record(self, request: Any) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            body = None
        entry = {
            "method": request.method,
            "path": request.path,
            "headers": dict(request.headers),
            "json": body,
        }
        self.requests.append(entry)
        return entry

    def _authorised(self, request: Any) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.token}"

    async def start(self) -> FakeWebApp:
        from aiohttp import web

        async def create_case(request: web.Request) -> web.Response:
            entry = await self._record(request)
            if not self._authorised(request):
                return web.json_response({"error": "unauthorized"}, status=401)
            if self.case_status is not None:
                return web.json_response({"error": "forced"}, status=self.case_status)
            number = entry["json"]["case_number"]
            known = number in self.cases
            self.cases.setdefault(number, entry["json"])
            return web.json_response({"case_number": number, "status": "new"}, status=200 if known else 201)

        async def availability(request: web.Request) -> web.Response:
            await self._record(request)
            if not self._authorised(request):
                return web.json_response({"error": "unauthorized"}, status=401)
            unit = request.match_info["unit"]
            return web.json_response(
                {"unit": unit, "staff_online": self.staff_online}, status=self.availability_status
            )

        async def live(request: web.Request) -> web.Response:
            await self._record(request)
            if not self._authorised(request):
                return web.json_response({"error": "unauthorized"}, status=401)
            number = request.match_info["case_number"]
            if number not in self.cases:
                return web.json_response({"error": "unknown_case"}, status=404)
            return web.json_response({"case_number": number, "status": "live"}, status=self.live_status)

        app = web.Application()
        app.router.add_post("/internal/v1/cases", create_case)
        app.router.add_get("/internal/v1/units/{unit}/availability", availability)
        app.router.add_post("/internal/v1/cases/{case_number}/live", live)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def posted_cases(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] == "POST" and r["path"] == "/internal/v1/cases"]


@pytest.fixture
async def webapp() -> Any:
    """The web app's internal API, up and answering (see FakeWebApp)."""
    app = await FakeWebApp().start()
    try:
        yield app
    finally:
        await app.stop()


@pytest.fixture
def escalation_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[[str], Path]:
    """Point the actions at a web app URL and a fresh outbox in tmp_path; returns a setter for the URL."""
    outbox = tmp_path / "var" / "outbox.db"
    monkeypatch.setenv("KRISENLOTSE_OUTBOX_DB", str(outbox))
    monkeypatch.setenv("KRISENLOTSE_INTERNAL_TOKEN", INTERNAL_TOKEN)
    monkeypatch.setenv("KRISENLOTSE_OUTBOX_RETRY_SECONDS", "0.1")
    monkeypatch.setenv("KRISENLOTSE_WEB_INTERNAL_URL", f"http://127.0.0.1:{free_port()}")
    # quick attempts: the tests need not wait the full budget when the web app is down
    from actions import delivery

    monkeypatch.setattr(delivery, "DELIVERY_BUDGET", 0.8)
    monkeypatch.setattr(delivery, "FIRST_PAUSE", 0.05)

    def use(url: str) -> Path:
        monkeypatch.setenv("KRISENLOTSE_WEB_INTERNAL_URL", url)
        return outbox

    return use

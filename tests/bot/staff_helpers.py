"""Helpers for the staff console tests: accounts, login through the real form, cases through the
internal API."""

from __future__ import annotations

import re
import uuid
from typing import Any

from aiohttp.test_utils import TestClient

from bot.keys import ACCOUNTS, CONFIG
from tests.bot.conftest import app_of

PASSWORD = "Korrekt-Pferd-Batterie-42"  # noqa: S105 - test accounts only
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def case_number() -> str:
    raw = uuid.uuid4().hex.upper()
    return f"KL-{raw[:4]}-{raw[4:8]}"


def case_payload(**overrides: Any) -> dict[str, Any]:
    payload = {
        "case_number": case_number(),
        "session_id": uuid.uuid4().hex,
        "unit": "tax_office",
        "secondary_units": ["business_development"],
        "topic": "tax_deferral",
        "priority": "normal",
        "trigger": "human_handoff",
        "urgent_signals": [],
        "contact": {"name": "Erika Muster", "company": "Bäckerei Muster GmbH", "email": "erika@example.org",
                    "phone": "+49 621 123456", "preferred_channel": "email", "consent": True},
        "description": "Wir brauchen eine Stundung der Gewerbesteuer.",
        "expected_response_by": "2026-11-26T12:00:00+01:00",
        "created_at": "2026-11-24T10:00:00+01:00",
    }
    payload.update(overrides)
    return payload


def bearer(client: TestClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {app_of(client)[CONFIG].internal_token}"}


async def create_case(client: TestClient, **overrides: Any) -> dict[str, Any]:
    payload = case_payload(**overrides)
    resp = await client.post("/internal/v1/cases", json=payload, headers=bearer(client))
    assert resp.status == 201, await resp.text()
    return payload


async def add_user(client: TestClient, email: str, role: str = "staff", units: tuple[str, ...] = ("tax_office",),
                   name: str | None = None) -> int:
    return await app_of(client)[ACCOUNTS].create_user(email, name or email.split("@")[0], role, units, PASSWORD)


def csrf_of(html: str) -> str:
    match = CSRF_FIELD.search(html)
    assert match, "no CSRF field on the page"
    return match.group(1)


async def login(client: TestClient, email: str, password: str = PASSWORD, expect: int = 303) -> Any:
    client.session.cookie_jar.clear()
    page = await client.get("/login")
    assert page.status == 200
    resp = await client.post("/login", data={"email": email, "password": password,
                                             "csrf_token": csrf_of(await page.text()), "next": "/staff"},
                             allow_redirects=False)
    assert resp.status == expect, await resp.text()
    return resp


async def page_csrf(client: TestClient, path: str = "/staff") -> str:
    resp = await client.get(path)
    assert resp.status == 200, await resp.text()
    return csrf_of(await resp.text())


async def post_action(client: TestClient, number: str, action: str, csrf: str, **data: str) -> Any:
    return await client.post(f"/staff/cases/{number}/{action}", data={"csrf_token": csrf, **data},
                             allow_redirects=False)

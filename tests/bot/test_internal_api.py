"""Internal API for the action server: token, loopback only, idempotency, validation, availability, live."""

from __future__ import annotations

import pytest

from bot.auth import StaffUser
from bot.keys import CASES, PRESENCE
from tests.bot.conftest import app_of
from tests.bot.staff_helpers import bearer, case_payload, create_case


async def test_create_is_idempotent_on_the_case_number(client) -> None:
    payload = case_payload()
    first = await client.post("/internal/v1/cases", json=payload, headers=bearer(client))
    assert first.status == 201
    assert await first.json() == {"case_number": payload["case_number"], "status": "new"}
    again = await client.post("/internal/v1/cases", json=payload, headers=bearer(client))
    assert again.status == 200
    assert await again.json() == {"case_number": payload["case_number"], "status": "new"}
    admin = StaffUser(1, "a@x", "A", "admin", frozenset())
    cases = await app_of(client)[CASES].visible(admin, status="all")
    assert [c.case_number for c in cases] == [payload["case_number"]]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-token-0123456789"},
                                     {"Authorization": "Basic abc"}])
async def test_token_is_required(client, headers) -> None:
    resp = await client.post("/internal/v1/cases", json=case_payload(), headers=headers)
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "unauthorized"
    resp = await client.get("/internal/v1/units/tax_office/availability", headers=headers)
    assert resp.status == 401


async def test_non_loopback_peers_are_refused(make_client) -> None:
    client = await make_client(trust_proxy=True)
    headers = {**bearer(client), "X-Forwarded-For": "203.0.113.9"}
    resp = await client.post("/internal/v1/cases", json=case_payload(), headers=headers)
    assert resp.status == 403
    resp = await client.get("/internal/v1/units/tax_office/availability", headers=headers)
    assert resp.status == 403


@pytest.mark.parametrize("change", [
    {"case_number": "123"}, {"session_id": "short"}, {"unit": "no_such_unit"}, {"priority": "urgent!"},
    {"trigger": "whatever"}, {"contact": {"email": "a@b.de", "consent": False}},
    {"contact": "erika@example.org"}, {"created_at": "gestern"},
    {"secondary_units": "tax_office"}, {"description": "x" * 10_001},
    # JSON objects and lists where a name is expected (found by tests/scale/test_fuzz.py: was a 500)
    {"unit": {"id": "tax_office"}}, {"priority": ["high"]}, {"trigger": {}},
    {"contact": {"consent": True, "preferred_channel": ["email"]}},
])
async def test_invalid_cases_are_refused(client, change) -> None:
    resp = await client.post("/internal/v1/cases", json=case_payload(**change), headers=bearer(client))
    assert resp.status == 400, change
    assert "error" in await resp.json()


async def test_invalid_json_is_refused(client) -> None:
    resp = await client.post("/internal/v1/cases", data=b"{nope", headers=bearer(client))
    assert resp.status == 400


async def test_availability_counts_connected_staff(client) -> None:
    resp = await client.get("/internal/v1/units/tax_office/availability", headers=bearer(client))
    assert await resp.json() == {"unit": "tax_office", "staff_online": 0}
    presence = app_of(client)[PRESENCE]
    presence.add("sid1", StaffUser(1, "a@x", "A", "staff", frozenset({"tax_office"})))
    presence.add("sid2", StaffUser(1, "a@x", "A", "staff", frozenset({"tax_office"})))  # second tab
    presence.add("sid3", StaffUser(2, "b@x", "B", "staff", frozenset({"trade_office"})))
    resp = await client.get("/internal/v1/units/tax_office/availability", headers=bearer(client))
    assert await resp.json() == {"unit": "tax_office", "staff_online": 1}
    resp = await client.get("/internal/v1/units/nowhere/availability", headers=bearer(client))
    assert resp.status == 404


async def test_live_request(client) -> None:
    payload = await create_case(client)
    resp = await client.post(f"/internal/v1/cases/{payload['case_number']}/live", headers=bearer(client))
    assert resp.status == 200
    admin = StaffUser(1, "a@x", "A", "admin", frozenset())
    case = await app_of(client)[CASES].get(admin, payload["case_number"])
    assert case.live_requested and not case.live
    resp = await client.post("/internal/v1/cases/KL-AAAA-BBBB/live", headers=bearer(client))
    assert resp.status == 404


async def test_incomplete_contact_details_are_kept_not_refused(client) -> None:
    """A 400 makes the action server give a case up: a case with only a name, or a very long name, is taken."""
    payload = case_payload(contact={"name": "E" * 500, "consent": True, "preferred_channel": None})
    resp = await client.post("/internal/v1/cases", json=payload, headers=bearer(client))
    assert resp.status == 201
    admin = StaffUser(1, "a@x", "A", "admin", frozenset())
    case = await app_of(client)[CASES].get(admin, payload["case_number"])
    assert case.contact["name"] == "E" * 200 and case.contact["preferred_channel"] == "any"
